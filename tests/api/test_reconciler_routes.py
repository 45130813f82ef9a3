"""The reconciler's own routes: sync status (computed under `serve`, the agent's document
under the agent), history, a fresh read-only plan, and Prometheus metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from apikit import UNO, Served, apply_spec, serve, uno, write_secrets

from reconciler.api.openapi import document
from reconciler.drivers.sim.backend import SimBackend
from reconciler.syncstatus import write_status

__all__ = ["uno"]


def validate(data: object, name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", **document()}
    jsonschema.Draft202012Validator(schema).validate(data)


def eventually(served: Served, path: str, check: Any, tries: int = 200) -> Any:
    """Poll until `check(body)` holds: answers are cached for a fraction of a second."""
    body = None
    for _ in range(tries):
        body = served.get(path).json()
        if check(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{path} never satisfied the check: {body}")


def test_status_after_apply_is_synced(uno: Served) -> None:
    status = uno.get("/reconciler/api/status").json()
    validate(status, "SyncStatus")
    assert status["device"] == "api-test-uno"
    assert status["syncState"] == "Synced" and status["drift"] == []
    assert status["lastApply"]["id"] == 1 and status["lastApply"]["status"] == "applied"
    assert status["lastAppliedAt"] == status["lastApply"]["finishedAt"]
    assert status["conditions"][0]["type"] == "Synced"
    assert status["conditions"][0]["status"] == "True"
    assert status["lastPlan"]["summary"] == {"add": 0, "change": 0, "remove": 0}


def test_history_and_limit(uno: Served) -> None:
    history = uno.get("/reconciler/api/history").json()
    validate(history, "History")
    assert [r["id"] for r in history] == [1] and history[0]["summary"]["add"] > 0
    assert uno.get("/reconciler/api/history?limit=1").json() == history
    for bad in ("0", "1001", "x", "-1", "1.5"):
        response = uno.get(f"/reconciler/api/history?limit={bad}")
        assert response.status_code == 400 and response.json()["Code"] == 400


def test_plan_is_read_only(uno: Served) -> None:
    plan = uno.get("/reconciler/api/plan").json()
    validate(plan, "Plan")
    assert plan["device"] == "api-test-uno" and plan["changes"] == []
    assert uno.get("/reconciler/api/history").json()[0]["id"] == 1  # nothing recorded


def test_drift_shows_in_status_plan_and_metrics(tmp_path: Path) -> None:
    secrets = write_secrets(tmp_path / "secrets")
    state = tmp_path / "state"
    apply_spec(UNO, state, secrets)
    served = serve(UNO, state, secrets)
    try:
        SimBackend.open(state, None).set_out_of_band("watchdog.timeoutSeconds", 30)
        status = eventually(served, "/reconciler/api/status", lambda s: s["drift"])
        assert status["syncState"] == "OutOfSync"
        drift = [(d["path"], d["op"]) for d in status["drift"]]
        assert drift == [("watchdog.timeoutSeconds", "replace")]
        assert status["conditions"][0]["status"] == "False"
        plan = served.get("/reconciler/api/plan").json()
        assert [(c["path"], c["before"], c["after"]) for c in plan["changes"]] == [
            ("watchdog.timeoutSeconds", 30, 60)
        ]
        assert plan["summary"] == {"add": 0, "change": 1, "remove": 0}
        metrics = parse_metrics(served.get("/metrics").text)
        assert metrics['reconciler_sync_state{state="OutOfSync"}'] == 1
        assert metrics['reconciler_sync_state{state="Synced"}'] == 0
        assert metrics["reconciler_drift_changes"] == 1
        assert served.get("/platform/api/perif/wdt").json()["timeoutInSeconds"] == 30
    finally:
        served.handle.stop()


def test_failed_apply_counts_in_metrics(tmp_path: Path) -> None:
    secrets = write_secrets(tmp_path / "secrets")
    state = tmp_path / "state"
    SimBackend.open(state, "UNO-2484G").inject_fault("watchdog", "always")
    with pytest.raises(AssertionError):
        apply_spec(UNO, state, secrets)
    served = serve(UNO, state, secrets)
    try:
        metrics = parse_metrics(served.get("/metrics").text)
        assert metrics["reconciler_apply_failures_total"] == 1
        assert metrics["reconciler_last_apply_success"] == 0
        assert metrics['reconciler_sync_state{state="Failed"}'] == 1
        status = served.get("/reconciler/api/status").json()
        assert status["syncState"] == "Failed"
        assert "injected fault" in status["conditions"][0]["message"]
    finally:
        served.handle.stop()


def parse_metrics(text: str) -> dict[str, float]:
    """Samples by `name{labels}` (labels sorted) as prometheus_client's own parser reads
    the page: a family printed apart from its HELP/TYPE comes back untyped ("Clashing name")."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, float] = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        assert family.type in ("counter", "gauge", "info"), f"samples apart from TYPE: {family}"
        assert family.name not in names, f"family printed twice: {family.name}"
        names.add(family.name)
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_metrics(uno: Served) -> None:
    with uno.client() as c:
        assert c.get("/platform/api/hwmon").status_code == 401
    assert uno.get("/platform/api/hwmon").status_code == 200
    response = uno.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    metrics = parse_metrics(response.text)
    assert metrics['reconciler_sync_state{state="Synced"}'] == 1
    assert sum(v for k, v in metrics.items() if k.startswith("reconciler_sync_state")) == 1
    assert metrics["reconciler_drift_changes"] == 0
    assert metrics["reconciler_apply_failures_total"] == 0
    assert metrics["reconciler_last_apply_success"] == 1
    assert metrics["reconciler_last_apply_timestamp_seconds"] > 1_600_000_000
    assert metrics["reconciler_last_apply_duration_seconds"] >= 0
    history = uno.get("/reconciler/api/history").json()
    assert (
        metrics["reconciler_changes_applied_total"]
        == history[0]["summary"]["add"]
        + history[0]["summary"]["change"]
        + history[0]["summary"]["remove"]
    )
    key = 'reconciler_api_requests_total{code="%s",method="GET",route="/platform/api/hwmon"}'
    assert metrics[key % 200] >= 1 and metrics[key % 401] >= 1
    assert metrics['reconciler_info{device="api-test-uno",version="0.1.0"}'] == 1


def test_agent_mode_serves_the_agents_status(tmp_path: Path) -> None:
    state = tmp_path / "state"
    document_ = {
        "device": "api-test-uno",
        "source": {"url": "file:///fleet.git@main"},
        "lastFetchedCommit": "abc123",
        "lastAppliedCommit": "abc123",
        "lastAppliedAt": "2026-01-01T00:00:00Z",
        "syncState": "Progressing",
        "drift": [],
        "waiting": [{"path": "network.interfaces.eth0", "risk": "connectivity", "until": "x"}],
        "lastPlan": {"summary": {"add": 1, "change": 0, "remove": 0}, "at": "x", "commit": "abc"},
        "conditions": [],
    }
    write_status(state, document_)
    served = serve(UNO, state, write_secrets(tmp_path / "secrets"), mode="agent")
    try:
        status = served.get("/reconciler/api/status").json()
        validate(status, "SyncStatus")
        assert status == {**document_, "updatedAt": status["updatedAt"]}
        metrics = parse_metrics(served.get("/metrics").text)
        assert metrics['reconciler_sync_state{state="Progressing"}'] == 1
    finally:
        served.handle.stop()


def test_without_a_spec_the_last_applied_one_is_used(tmp_path: Path) -> None:
    secrets = write_secrets(tmp_path / "secrets")
    state = tmp_path / "state"
    apply_spec(UNO, state, secrets)
    served = serve(None, state, secrets)
    try:
        status = served.get("/reconciler/api/status").json()  # monitor: from the applied spec
        assert status["syncState"] == "Synced" and status["device"] == "api-test-uno"
        assert "last applied" in status["source"]["url"]
    finally:
        served.handle.stop()


def test_without_any_spec_nobody_can_log_in(tmp_path: Path) -> None:
    served = serve(None, tmp_path / "state", write_secrets(tmp_path / "s"), model="AIG-302")
    try:
        assert served.login("monitor").status_code == 401
        with served.client() as c:
            assert c.get("/platform/api/ping").text == "pong"
    finally:
        served.handle.stop()


def test_no_spec_status_and_plan(tmp_path: Path) -> None:
    """Nothing says what the device should be: sync state Unknown, no plan. (Over HTTP
    nobody can log in then, so this is checked on the reader itself.)"""
    import threading

    from reconciler import operations as ops
    from reconciler.api.context import ApiContext
    from reconciler.api.sync import NoSpec, SyncReader
    from reconciler.secrets import SecretResolver

    state = tmp_path / "state"
    context = ApiContext(
        backend=ops.open_backend("sim", state, "AIG-302"),
        state_dir=state,
        secrets=SecretResolver(None),
    )
    reader = SyncReader(context, threading.Lock())
    status = reader.status()
    validate(status, "SyncStatus")
    assert status["syncState"] == "Unknown" and status["conditions"][0]["reason"] == "NoSpec"
    with pytest.raises(NoSpec):
        reader.plan()
    assert reader.history_records(10) == []


def test_missing_secret_fails_the_plan_clearly(tmp_path: Path) -> None:
    secrets = write_secrets(tmp_path / "secrets")
    (secrets / "mqtt-password").unlink()
    served = serve(UNO, tmp_path / "state", secrets)
    try:
        plan = served.get("/reconciler/api/plan")
        assert plan.status_code == 422
        assert "mqtt-password" in plan.json()["errors"]["Device"]
        status = served.get("/reconciler/api/status").json()
        assert status["syncState"] == "Failed"
        assert status["conditions"][0]["reason"] == "PlanFailed"
    finally:
        served.handle.stop()
