"""What a cold `reconcile plan` loads and keeps (issue 19): the figures are bench/plan.py's;
these are the properties behind them, in a fresh process as a user's run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from testkit import REPO, subprocess_env

SCRIPT = """\
import gc, json, sys
from reconciler.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "frozen": gc.get_freeze_count(), "gc": gc.isenabled(),
                  "modules": sorted({m.split(".")[0] for m in sys.modules} | set(sys.modules))}))
"""


def _plan_in_fresh_process(tmp_path: Path) -> dict:
    args = ["plan", "-f", str(REPO / "examples" / "modbus-gateway.yaml")]
    args += ["--state-dir", str(tmp_path / "state"), "--secrets-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
        env=subprocess_env(), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.stdout, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_plan_loads_neither_plugin_discovery_nor_the_located_loader(tmp_path: Path) -> None:
    """pydantic's plugin discovery (importlib.metadata, email), ruamel (errors only) and
    croniter (unusual cron expressions only) stay unloaded on a clean spec."""
    run = _plan_in_fresh_process(tmp_path)
    assert run["code"] == 2  # a fresh sim device: changes to make
    loaded = set(run["modules"])
    assert "pydantic" in loaded and "reconciler.spec.device" in loaded
    unwanted = {"importlib.metadata", "email", "ruamel", "croniter"}
    assert loaded.isdisjoint(unwanted), sorted(loaded & unwanted)


def test_what_the_first_validation_built_is_kept_out_of_later_collections(
    tmp_path: Path,
) -> None:
    """pydantic, the model classes and their validators live as long as the process: they
    are frozen out of the collector's walks, which still run for everything after."""
    run = _plan_in_fresh_process(tmp_path)
    assert run["frozen"] > 20_000, run["frozen"]
    assert run["gc"] is True
