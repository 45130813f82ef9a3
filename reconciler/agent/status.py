"""The agent's status document: written atomically on every exit path of every pass,
read by `reconcile status`, the status endpoint and metrics.

Shape (JSON, camelCase, stable):
  device, source {url, branch, path}, lastFetchedCommit, lastFetchedAt, lastAppliedCommit,
  lastAppliedAt, syncState (Synced|OutOfSync|Progressing|Failed|Suspended|Stalled),
  drift [{path, op, risk}], waiting [{path, risk, until}], lastPlan {summary, at, commit},
  conditions [{type, status, reason, message, lastTransitionTime}], updatedAt.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from reconciler.fsutil import atomic_write

STATUS_FILE = "status.json"
SYNC_STATES = ("Synced", "OutOfSync", "Progressing", "Failed", "Suspended", "Stalled")


def iso(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The last status the agent recorded in `state_dir`, or None if no agent ran there."""
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def write_status(state_dir: Path, status: dict[str, Any]) -> None:
    status = {**status, "updatedAt": iso()}
    atomic_write(state_dir / STATUS_FILE, json.dumps(status, indent=2).encode(), mode=0o644)
