"""Shared fixtures: run the CLI in-process, a fresh state dir, secrets in a 0600 dir."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_RECONCILE = REPO / ".venv" / "bin" / "reconcile"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `reconcile ARGS...` in this process and capture what a user would see."""
    from reconciler.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    """Secret files as a device keeps them (mode 0600)."""
    path = tmp_path / "secrets"
    path.mkdir(mode=0o700)
    for name, value in SECRETS.items():
        f = path / name
        f.write_text(value + "\n")
        f.chmod(0o600)
    return path


SECRETS = {
    "monitor-password": "Mon1tor-Secret-Value-77",
    "plant-a-wifi": "wifi-psk-Secret-Value-88",
    "mqtt-password": "mqtt-Secret-Value-99",
    "operator-password": "Operator-Secret-Value-66",
    "sim-pin": "4711",
    "apn-password": "apn-Secret-Value-55",
    "ap-psk": "ap-psk-Secret-Value-44",
}


def reconcile_cmd() -> list[str]:
    """The installed entry point when present (what users run), else this interpreter."""
    if VENV_RECONCILE.exists():
        return [str(VENV_RECONCILE)]
    return [sys.executable, "-m", "reconciler.cli"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(extra)
    return env
