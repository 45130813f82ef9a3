"""`make demo`: the main job on a fresh simulated device, with the real `reconcile` commands.

Validates the examples and the reference fleet, then, in a temporary state directory:
plan (changes shown), apply, plan again ("No changes."), an out-of-band change (drift)
that the next plan shows and apply corrects, the observed state, and the history.
Demo secrets are generated into a 0600 secrets directory; nothing outside /tmp is touched.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLEET = REPO / "fleet"
DEVICE = "press-line-01"


NEXT_STEPS = """
What to try next (the demo's state directory was temporary; these use your own):
  .venv/bin/reconcile validate examples/                   check specs, every problem located
  .venv/bin/reconcile plan -f examples/minimal.yaml        plan on a fresh simulated device
  .venv/bin/reconcile fleet explain fleet press-line-01 spec.system.timezone
                                                           which layer set a value
  .venv/bin/reconcile serve -f examples/minimal.yaml       the status endpoint and /metrics
  .venv/bin/reconcile --help                               every command
README.md ("A tour") walks through the rest; `make test` runs the checks."""


def reconcile_bin() -> list[str]:
    exe = Path(sys.executable).with_name("reconcile")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "reconciler.cli"]


def run(
    *args: str, ok: tuple[int, ...] = (0,), show: bool = True
) -> subprocess.CompletedProcess[str]:
    shown = " ".join(shlex.quote(a) for a in ("reconcile", *args))
    print(f"\n\033[1m$ {shown}\033[0m" if sys.stdout.isatty() else f"\n$ {shown}", flush=True)
    proc = subprocess.run([*reconcile_bin(), *args], text=True, capture_output=True, check=False)
    if show:
        sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    print(f"(exit {proc.returncode})", flush=True)
    if proc.returncode not in ok:
        sys.exit(f"demo failed: `{shown}` exited {proc.returncode}")
    return proc


def demo_secrets(root: Path) -> Path:
    """A value for every secret the device's rendered spec references."""
    from reconciler.engine.planner import secret_names
    from reconciler.fleet.render import load_fleet_device
    from reconciler.operations import desired_state

    names = secret_names(desired_state(load_fleet_device(FLEET, DEVICE)))
    secrets = root / "secrets"
    secrets.mkdir(mode=0o700)
    for name in sorted(names):
        path = secrets / name
        path.write_text(f"demo-{name}-S3cret!\n")
        path.chmod(0o600)
    return secrets


def main() -> None:
    os.environ.pop("RECONCILER_FAILPOINT", None)
    run("validate", str(REPO / "examples"))
    run("fleet", "validate", str(FLEET))
    root = Path(tempfile.mkdtemp(prefix="reconciler-demo-"))
    try:
        state = str(root / "state")
        secrets = str(demo_secrets(root))
        target: tuple[str, ...] = ("--fleet", str(FLEET), "--device", DEVICE, "--state-dir", state)
        target += ("--secrets-dir", secrets)
        run("plan", *target, ok=(2,))
        run("apply", *target, "--yes")
        run("plan", *target)
        run("sim", "--state-dir", state, "set", "watchdog.timeoutSeconds", "200")
        run("plan", *target, ok=(2,))
        run("apply", *target, "--yes")
        run("plan", *target)
        observed = run("observe", "--state-dir", state, "--json", show=False)
        data = json.loads(observed.stdout)
        print(
            f"\nobserved: hostname={data['system']['hostname']} "
            f"watchdog={data['watchdog']['enabled']}/{data['watchdog']['timeoutSeconds']}s "
            f"cpu={data['system']['cpuPercent']}% "
            f"temperatures={[(t['name'], t['value']) for t in data['hwmon']['temperature']]}"
        )
        run("history", "--state-dir", state)
        print(f"\nDemo finished: {DEVICE} planned, applied, drift corrected.")
        print(NEXT_STEPS)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
