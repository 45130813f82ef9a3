"""What a start of the `reconcile` program leaves out (issue 19: a cold plan in 0.25 s).

The first load of a spec imports pydantic (and, for a fleet, the fleet's loader) and builds
the models and their validators: some 45,000 objects that live as long as the process. The
cyclic garbage collector would walk them again and again while they are made, and in every
full collection after; `spec_loading()` pauses it for the first load and then freezes every
object alive at its end out of later collections (a cold plan's GC time: 23 ms -> 3 ms).
That includes the first load's own cyclic garbage (under a thousand objects), never
reclaimed: a bounded, one-off cost. Later loads only pause the collector. A pydantic plugin
installed in the environment is not loaded by the CLI (below).

pydantic looks for plugins the first time it builds a validator: it imports
importlib.metadata (and with it the email package) and reads the entry points of every
installed distribution: about 20 ms, a twelfth of a cold plan's 0.25 s budget. The
reconciler uses no pydantic plugin, and `PYDANTIC_DISABLE_PLUGINS` skips the reading but
not the imports, so the CLI gives pydantic its plugin loader in advance: one that finds
none. A process that imported the real loader already keeps it.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.machinery
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

from reconciler.fastyaml import gc_paused

PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[Any]:
    return ()


def skip_pydantic_plugin_discovery() -> None:
    """From here on, pydantic's validators are built without looking for plugins."""
    if PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PLUGIN_LOADER, "pydantic's plugin loader, finding none")
    loader.__spec__ = importlib.machinery.ModuleSpec(PLUGIN_LOADER, None)
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[PLUGIN_LOADER] = loader


_first_load_started = False


@contextlib.contextmanager
def spec_loading() -> Iterator[None]:
    """Around a load of a spec: no cyclic collection meanwhile; the first in the process
    leaves what it built frozen (see the module's docstring)."""
    global _first_load_started
    first, _first_load_started = not _first_load_started, True
    with gc_paused():
        try:
            yield
        finally:
            if first:  # before the collector is back on: its first pass would walk it all
                gc.freeze()
