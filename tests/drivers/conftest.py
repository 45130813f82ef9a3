"""Driver tests share the linux test helpers (fake machine, namespaces)."""

from __future__ import annotations

import sys
from pathlib import Path

HELPERS = str(Path(__file__).resolve().parent / "linux")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
