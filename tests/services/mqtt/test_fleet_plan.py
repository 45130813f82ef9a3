"""`reconcile fleet plan` against a real mosquitto: a real uplink (cloud.mqtt.retain: true)
retains its device's observed state; another device's state is hours old and the device
is offline; a third never reported. The plans are computed against those states."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet_sim import Endpoint, offline, publish_retained, write_repo
from mqtt_broker import Broker, Collector
from testkit import reconcile_cmd, subprocess_env
from uplink_kit import DEVICE, PREFIX, Uplinks, plain

from reconciler.services.mqtt.messages import stamp

SPEC = "spec: {system: {description: %s}, watchdog: {enabled: true, timeoutSeconds: 90}}\n"


def fleet_plan(broker: Broker, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = f"mqtt://127.0.0.1:{broker.port}"
    return subprocess.run(
        [*reconcile_cmd(), "fleet", "plan", str(repo), "--broker", url, "--prefix", PREFIX, *args],
        capture_output=True, text=True, timeout=120, env=subprocess_env(),
    )  # fmt: skip


def _set_description(repo: Path, name: str, description: str) -> None:
    file = repo / "devices" / f"{name}.yaml"
    text = file.read_text().split("spec:")[0]
    file.write_text(text + SPEC % description)


def test_plans_against_reported_state(
    tmp_path: Path, broker: Broker, collect: Callable[..., Collector], uplinks: Uplinks
) -> None:
    names = [DEVICE, "old-state", "silent"]
    repo = tmp_path / "repo"
    write_repo(repo, {n: {"site": "t"} for n in names}, {})
    for n in names:
        _set_description(repo, n, "wanted")
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x",
                    "commit", "-qam", "descriptions"], check=True)  # fmt: skip
    watcher = collect(broker, [f"{PREFIX}/+/state"])
    uplink = uplinks.start(plain(broker, retain=True, reportIntervalSec=0))
    uplink.on_status({"device": DEVICE, "syncState": "OutOfSync", "drift": [
        {"path": "system.description", "op": "replace", "risk": "none"}]})  # fmt: skip
    state = watcher.wait_for("the uplink's retained state", lambda m: DEVICE in m.topic).data
    two_hours_ago = stamp(time.time() - 7200)
    old: dict[str, Any] = {**state, "device": "old-state", "time": two_hours_ago}
    publish_retained(
        Endpoint(broker.port),
        [(f"{PREFIX}/old-state/state", json.dumps(old).encode()),
         (f"{PREFIX}/old-state/status", offline("old-state"))],
    )  # fmt: skip

    done = fleet_plan(broker, repo, "--format", "json")
    assert done.returncode == 2, done.stderr
    out = json.loads(done.stdout)
    plans = {p["name"]: p for p in out["devices"]}
    mine = plans[DEVICE]
    assert mine["online"] is True and mine["drifted"] is True
    assert mine["stateAgeSeconds"] is not None and mine["stateAgeSeconds"] < 600
    paths = {c["path"] for c in mine["plan"]["changes"]}
    assert "system.description" in paths and "watchdog.timeoutSeconds" in paths
    desc = next(c for c in mine["plan"]["changes"] if c["path"] == "system.description")
    assert desc["after"] == "wanted"
    assert desc["before"] == state["state"]["system"]["description"]
    assert plans["old-state"]["online"] is False
    assert 7000 < plans["old-state"]["stateAgeSeconds"] < 8000
    assert plans["silent"]["plan"] is None and "no observed state" in plans["silent"]["problem"]
    assert out["summary"] == {"devices": 3, "withChanges": 2, "refused": 0, "withoutPlan": 1,
                              "drifted": 1, "offline": 1}  # fmt: skip

    _set_description(repo, DEVICE, "edited-not-committed")
    work = json.loads(fleet_plan(broker, repo, "--format", "json").stdout)
    head = json.loads(fleet_plan(broker, repo, "--format", "json", "--rev", "HEAD").stdout)

    def wanted(result: dict[str, Any]) -> str:
        device = next(p for p in result["devices"] if p["name"] == DEVICE)
        return next(
            c["after"] for c in device["plan"]["changes"] if c["path"] == "system.description"
        )

    assert wanted(work) == "edited-not-committed" and wanted(head) == "wanted"

    md = fleet_plan(broker, repo, "--format", "markdown")
    assert md.returncode == 2
    assert f"| `{DEVICE}` | online, state " in md.stdout and "DRIFTED" in md.stdout
    assert "| `old-state` | OFFLINE, state 2h old |" in md.stdout
    assert "<details><summary>old-state</summary>" in md.stdout
    text = fleet_plan(broker, repo)
    assert "== silent (never reported, no state)" in text.stdout
    assert "3 devices: 2 with changes, 0 refused, 1 without a plan" in text.stdout
