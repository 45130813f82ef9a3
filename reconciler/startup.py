"""What a start of the `reconcile` program leaves out (issue 19: a cold plan in 0.25 s).

pydantic looks for plugins the first time it builds a validator: it imports
importlib.metadata (and with it the email package) and reads the entry points of every
installed distribution, about a fifth of a second's budget on this machine's class. The
reconciler uses no pydantic plugin, and `PYDANTIC_DISABLE_PLUGINS` skips the reading but
not the imports, so the CLI gives pydantic its plugin loader in advance: one that finds
none. A process that imported the real loader already keeps it.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from typing import Any

PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[Any]:
    return ()


def skip_pydantic_plugin_discovery() -> None:
    """From here on, pydantic's validators are built without looking for plugins."""
    if PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PLUGIN_LOADER, "pydantic's plugin loader, finding none")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[PLUGIN_LOADER] = loader
