"""Helpers the tests share (importable as `testkit`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_RECONCILE = REPO / ".venv" / "bin" / "reconcile"

SECRETS = {
    "monitor-password": "Mon1tor-Secret-Value-77",
    "plant-a-wifi": "wifi-psk-Secret-Value-88",
    "mqtt-password": "mqtt-Secret-Value-99",
    "operator-password": "Operator-Secret-Value-66",
    "sim-pin": "4711",
    "apn-password": "apn-Secret-Value-55",
    "ap-psk": "ap-psk-Secret-Value-44",
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def reconcile_cmd() -> list[str]:
    """The installed entry point when present (what users run), else this interpreter."""
    if VENV_RECONCILE.exists():
        return [str(VENV_RECONCILE)]
    return [sys.executable, "-m", "reconciler.cli"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(extra)
    return env
