"""`fleet validate` of many devices draws a progress bar on a terminal (a real pty) and
prints nothing extra when its output is piped."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
from pathlib import Path

from testkit import REPO, reconcile_cmd, subprocess_env

DEVICES = 40


def _big_fleet(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    shutil.copytree(REPO / "fleet", root)
    template = (root / "devices" / "assembly-01.yaml").read_text()
    for i in range(DEVICES):
        name = f"assembly-{100 + i}"
        (root / "devices" / f"{name}.yaml").write_text(template.replace("assembly-01", name))
    return root


def _run_on_pty(argv: list[str]) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal; return the exit code and what it showed."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=child, env=subprocess_env(TERM="xterm")
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(120)
    os.close(main)
    return proc.returncode, b"".join(chunks).decode()


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    root = _big_fleet(tmp_path)
    total = DEVICES + len(list((REPO / "fleet" / "devices").glob("*.yaml")))
    argv = [*reconcile_cmd(), "fleet", "validate", str(root), "--jobs", "1"]
    code, shown = _run_on_pty(argv)
    assert code == 0, shown
    assert f"] {total}/{total} devices checked" in shown
    assert "\r[" in shown and shown.rstrip().endswith("\x1b[K")  # erased at the end
    piped = subprocess.run(argv, capture_output=True, text=True, env=subprocess_env())
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == "" and "\r" not in piped.stdout
    assert f"{total} devices" in piped.stdout
