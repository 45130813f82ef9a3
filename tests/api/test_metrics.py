"""/metrics as scrapers see it: prometheus_client's parser reads it, HTTP Basic of a
`metrics:read` account works where tokens expire, `--metrics-public` serves it alone and
without auth, and a real Prometheus scrapes `reconcile serve` and answers a query."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apikit import AUDITOR_PASSWORD, PASSWORDS, UNO, Served, apply_spec, uno, write_secrets
from ruamel.yaml import YAML
from test_reconciler_routes import parse_metrics
from testkit import REPO, need_tool, reconcile_cmd, subprocess_env

from reconciler import operations as ops
from reconciler.api.context import ApiContext
from reconciler.api.server import start_status_server
from reconciler.secrets import SecretResolver

__all__ = ["uno"]
MONITORING = REPO / "examples" / "monitoring"


def test_basic_auth_needs_metrics_read(uno: Served) -> None:
    with uno.client() as c:
        assert c.get("/metrics").status_code == 401
        # auditor's role grants *:read, which covers metrics:read
        answer = c.get("/metrics", auth=("auditor", AUDITOR_PASSWORD))
        assert answer.status_code == 200
        assert parse_metrics(answer.text)['reconciler_sync_state{state="Synced"}'] == 1
        assert c.get("/metrics", auth=("auditor", "wrong")).status_code == 401
        # monitor has status:read only: tokens yes, Basic on /metrics no
        assert c.get("/metrics", auth=("monitor", PASSWORDS["monitor"])).status_code == 401
        # Basic opens /metrics only, not the other routes
        status = c.get("/reconciler/api/status", auth=("auditor", AUDITOR_PASSWORD))
        assert status.status_code == 401


def test_process_interface_and_uptime_metrics(uno: Served) -> None:
    metrics = parse_metrics(uno.get("/metrics").text)
    assert metrics["process_resident_memory_bytes"] > 0
    assert metrics["process_start_time_seconds"] > 1_600_000_000
    assert 0 <= metrics["reconciler_uptime_seconds"] < metrics["reconciler_device_uptime_seconds"]
    received = {k for k in metrics if k.startswith("reconciler_network_receive_bytes_total{")}
    assert received, "no interface counters"
    assert all(re.fullmatch(r'.*\{interface="[^"]+"\}', k) for k in received)
    assert 'reconciler_network_receive_bytes_total{interface="lo"}' not in metrics


@pytest.fixture
def public(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The agent's way in: start_status_server with a public metrics address."""
    secrets = write_secrets(tmp_path / "secrets")
    state = tmp_path / "state"
    apply_spec(UNO, state, secrets)
    target = ops.load_target(str(UNO), None, None)
    context = ApiContext(
        backend=ops.open_backend("sim", state, target.spec.metadata.model),
        state_dir=state,
        secrets=SecretResolver(secrets),
        target=target,
    )
    handle = start_status_server(context, ("127.0.0.1", 0), metrics_public=("127.0.0.1", 0))
    try:
        yield handle.url, handle.companions[0].url
    finally:
        handle.stop()


def test_metrics_public_serves_metrics_only_without_auth(public: tuple[str, str]) -> None:
    main, open_url = public
    assert main != open_url
    with httpx.Client(timeout=30) as c:
        answer = c.get(f"{open_url}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert parse_metrics(answer.text)['reconciler_sync_state{state="Synced"}'] == 1
        assert c.get(f"{open_url}/reconciler/api/status").status_code == 404
        assert c.get(f"{open_url}/platform/api/hwmon").status_code == 404
        assert c.post(f"{open_url}/metrics").status_code == 405
        assert c.get(f"{main}/metrics").status_code == 401  # the main address still asks


def test_dashboard_queries_name_served_metrics(uno: Served) -> None:
    """Every metric the Grafana dashboard plots is one /metrics serves."""
    served = {re.sub(r"\{.*", "", k) for k in parse_metrics(uno.get("/metrics").text)}
    dashboard = json.loads((MONITORING / "reconciler-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in re.findall(r"\b((?:reconciler|process)_[a-z_]+)", e)}
    assert used and used <= served, used - served


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _prometheus_config(tmp_path: Path, main: str, open_url: str) -> Path:
    """The shipped example config, pointed at the test's endpoints and password file."""
    yaml = YAML()
    config = yaml.load((MONITORING / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    password = tmp_path / "prometheus-password"
    password.write_text(AUDITOR_PASSWORD + "\n")
    for job, url in zip(config["scrape_configs"], (main, open_url), strict=True):
        job["static_configs"][0]["targets"] = [url.removeprefix("http://")]
        if "basic_auth" in job:
            job["basic_auth"] = {"username": "auditor", "password_file": str(password)}
    path = tmp_path / "prometheus.yml"
    with path.open("w") as f:
        yaml.dump(config, f)
    return path


def _query(api: httpx.Client, expr: str) -> list[dict[str, Any]]:
    answer = api.get("/api/v1/query", params={"query": expr})
    if answer.status_code != 200:
        return []
    return list(answer.json()["data"]["result"])


def test_real_prometheus_scrapes_and_answers(tmp_path: Path) -> None:
    binary = need_tool("prometheus", "prometheus")
    promtool = need_tool("promtool", "prometheus")
    check = subprocess.run(
        [promtool, "check", "config", str(MONITORING / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    secrets = write_secrets(tmp_path / "secrets")
    apply_spec(UNO, tmp_path / "state", secrets)
    args = ["-f", str(UNO), "--state-dir", str(tmp_path / "state"), "--secrets-dir", str(secrets)]
    serve = subprocess.Popen(
        [*reconcile_cmd(), "serve", *args, "--listen", "127.0.0.1:0", "--metrics-public", ":0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    prometheus = None
    try:
        assert serve.stdout is not None
        lines = [serve.stdout.readline(), serve.stdout.readline()]
        urls = [line.split(" on ", 1)[1].split()[0].removesuffix("/metrics.") for line in lines]
        assert "without authentication" in lines[1], lines
        port = _free_port()
        config = _prometheus_config(tmp_path, *urls)
        log = (tmp_path / "prometheus.log").open("w")
        flags = [f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}"]
        prometheus = subprocess.Popen(
            [binary, *flags, f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:

            def ready() -> bool:
                try:
                    return api.get("/-/ready").status_code == 200
                except httpx.TransportError:
                    alive = prometheus is not None and prometheus.poll() is None
                    assert alive, (tmp_path / "prometheus.log").read_text()
                    return False

            _wait(ready, "Prometheus to be ready")
            expr = 'reconciler_sync_state{state="Synced"} == 1'
            found = _wait(lambda: len(_query(api, expr)) == 2 and _query(api, expr), expr)
            assert {r["metric"]["job"] for r in found} == {"reconciler", "reconciler-public"}
            targets = api.get("/api/v1/targets").json()["data"]["activeTargets"]
            assert {t["health"] for t in targets} == {"up"}, targets
            info = _query(api, "reconciler_info")
            assert {r["metric"]["device"] for r in info} == {"api-test-uno"}
    finally:
        for proc in (prometheus, serve):
            if proc is not None:
                proc.terminate()
                proc.wait(60)
        if prometheus is not None:
            log.close()


def test_agent_metrics_public_needs_listen(cli: Any, tmp_path: Path) -> None:
    result = cli(
        "agent",
        "--source",
        str(tmp_path),
        "--device",
        "d",
        "--state-dir",
        str(tmp_path / "s"),
        "--metrics-public",
        "127.0.0.1:0",
        "--once",
    )
    assert result.code == 1
    assert "--metrics-public needs --listen" in result.err
