"""`reconcile fleet status` against a real mosquitto: a few dozen simulated devices'
retained statuses (some gone offline through the MQTT will, some never reported) joined
with a committed fleet repo; --watch; TLS with credentials."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fleet_sim import Endpoint, publish_retained, status, vanish, write_repo
from mqtt_broker import Broker, Certs, Collector
from testkit import reconcile_cmd, subprocess_env

PREFIX = "plants/f"
SITES = {"a": 18, "b": 12}


def fleet_status(
    broker: Broker, repo: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    url = f"mqtt://127.0.0.1:{broker.port}"
    return subprocess.run(
        [
            *reconcile_cmd(),
            "fleet",
            "status",
            str(repo),
            "--broker",
            url,
            "--prefix",
            PREFIX,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=subprocess_env(XDG_CACHE_HOME=str(repo.parent / "cache"), **env),
    )


def names(site: str) -> list[str]:
    return [f"{site}-{i:02d}" for i in range(SITES[site])]


@pytest.fixture
def fleet(tmp_path: Path, broker: Broker, collect: Callable[..., Collector]) -> tuple[Path, str]:
    """30 devices in the repo: site a all Synced on HEAD but for one drifted and one failed
    on an old commit, two that vanished (the will) and one never reported; site b: 6
    Synced, 3 Progressing, 3 never reported. Two devices report but are not in the repo."""
    devices = {n: {"site": s} for s in SITES for n in names(s)}
    head = write_repo(tmp_path / "repo", devices, {"site-a": "site: a", "site-b": "site: b"})
    a, b = names("a"), names("b")
    reports = {n: status(n, "Synced", head, seq=5) for n in a[:13]}
    reports[a[13]] = status(a[13], "OutOfSync", head, seq=9, drift=2)
    reports[a[14]] = status(a[14], "Failed", "0ld0c0ffee", seq=3)
    reports |= {n: status(n, "Synced", head) for n in b[:6]}
    reports |= {n: status(n, "Progressing", "0ld0c0ffee") for n in b[6:9]}
    reports |= {n: status(n, "Synced", head) for n in ("stray-1", "stray-2")}
    endpoint = Endpoint(broker.port)
    publish_retained(endpoint, ((f"{PREFIX}/{n}/status", p) for n, p in reports.items()))
    watcher = collect(broker, [f"{PREFIX}/+/status"])
    for n in a[15:17]:
        vanish(endpoint, PREFIX, n, status(n, "Synced", head))
        watcher.wait_for(f"{n}'s will", lambda m, n=n: n in m.topic and not m.data["online"])
    return tmp_path / "repo", head


def test_rows_summary_and_exit_code(broker: Broker, fleet: tuple[Path, str]) -> None:
    repo, head = fleet
    done = fleet_status(broker, repo, "--json")
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert set(out) >= {"devices", "summary"}
    assert out["summary"] == {
        "Synced": 19,
        "OutOfSync": 1,
        "Progressing": 3,
        "Failed": 1,
        "Stalled": 0,
        "Suspended": 0,
        "Offline": 2,
        "Unknown": 4,
    }
    rows = {row["name"]: row for row in out["devices"]}
    assert len(rows) == 30
    assert set(rows["a-00"]) == {
        "name", "online", "syncState", "lastAppliedCommit", "lastAppliedAt", "drift",
        "waiting", "groups",
    }  # fmt: skip
    assert rows["a-00"] | {"lastAppliedAt": None} == {
        "name": "a-00", "online": True, "syncState": "Synced", "lastAppliedCommit": head,
        "lastAppliedAt": None, "drift": 0, "waiting": 0, "groups": ["site-a"],
    }  # fmt: skip
    assert rows["a-13"]["drift"] == 2 and rows["a-13"]["syncState"] == "OutOfSync"
    assert rows["a-15"]["online"] is False and rows["a-15"]["syncState"] is None
    assert rows["a-17"]["online"] is None and rows["a-17"]["syncState"] is None
    assert rows["b-11"]["groups"] == ["site-b"] and rows["b-11"]["online"] is None
    assert [r["name"] for r in out["notInRepo"]] == ["stray-1", "stray-2"]
    assert out["commit"] == {"commit": head, "devices": 20}  # a-13 runs it, drifted

    text = fleet_status(broker, repo)
    assert text.returncode == 1
    lines = {line.split()[0]: line.split() for line in text.stdout.splitlines() if line}
    assert lines["a-14"][:4] == ["a-14", "yes", "Failed", "0ld0c0ffee"]
    assert lines["a-16"][:3] == ["a-16", "no", "Offline"]
    assert "Synced 19, OutOfSync 1, Progressing 3, Failed 1" in text.stdout
    assert "Offline 2, Unknown 4 (of 30 devices)" in text.stdout
    assert "Reporting but not in the repo (2):" in text.stdout
    assert text.stderr == ""  # no progress bar without a terminal


def test_selection_and_commit(broker: Broker, fleet: tuple[Path, str]) -> None:
    repo, head = fleet
    site_b = json.loads(fleet_status(broker, repo, "--json", "--selector", "site=b").stdout)
    assert [r["name"] for r in site_b["devices"]] == names("b")
    assert site_b["summary"]["Progressing"] == 3 and site_b["summary"]["Unknown"] == 3
    # the strays are still the only devices outside the repo (site a is in it)
    assert [r["name"] for r in site_b["notInRepo"]] == ["stray-1", "stray-2"]

    old = fleet_status(broker, repo, "--json", "--commit", "0ld0c0ffee")
    assert json.loads(old.stdout)["commit"] == {"commit": "0ld0c0ffee", "devices": 4}
    assert old.returncode == 1

    publish_retained(
        Endpoint(broker.port),
        ((f"{PREFIX}/{n}/status", status(n, "Synced", head, seq=2)) for n in names("b")),
    )
    converged = fleet_status(broker, repo, "--selector", "site=b", "--commit", head[:8])
    assert converged.returncode == 0, converged.stdout
    assert (
        f"commit {head[:8]}" in converged.stdout and "12 of 12 devices run it" in converged.stdout
    )
    nothing = fleet_status(broker, repo, "--selector", "site=nowhere")
    assert nothing.returncode == 1 and "no device of the repo matches" in nothing.stderr


def _read_json_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"fleet status --watch ended: {proc.stderr.read() if proc.stderr else ''}"
    data: dict[str, Any] = json.loads(line)
    return data


def test_watch_updates_when_a_status_changes(broker: Broker, fleet: tuple[Path, str]) -> None:
    repo, head = fleet
    url = f"mqtt://127.0.0.1:{broker.port}"
    proc = subprocess.Popen(
        [*reconcile_cmd(), "fleet", "status", str(repo), "--broker", url, "--prefix", PREFIX,
         "--watch", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(),
    )  # fmt: skip
    try:
        first = _read_json_line(proc)
        assert first["summary"]["Unknown"] == 4
        publish_retained(
            Endpoint(broker.port), [(f"{PREFIX}/a-17/status", status("a-17", "Synced", head))]
        )
        update = _read_json_line(proc)
        row = next(r for r in update["devices"] if r["name"] == "a-17")
        assert row["online"] is True and row["syncState"] == "Synced"
        assert update["summary"]["Unknown"] == 3 and update["summary"]["Synced"] == 20
        # an older status delivered again (at least once) does not turn the row back
        publish_retained(
            Endpoint(broker.port),
            [(f"{PREFIX}/a-13/status", status("a-13", "Failed", head, seq=2))],
        )
        publish_retained(
            Endpoint(broker.port),
            [(f"{PREFIX}/a-00/status", status("a-00", "Failed", head, seq=6))],
        )
        update = _read_json_line(proc)
        rows = {r["name"]: r for r in update["devices"]}
        assert rows["a-00"]["syncState"] == "Failed" and rows["a-13"]["syncState"] == "OutOfSync"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 1
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_tls_and_credentials(
    tmp_path: Path, new_broker: Callable[..., Broker], certs: Certs
) -> None:
    password = "fleet-reader-pw-7781"
    broker = new_broker(certs=certs, passwords={"fleet": password, "sim": "sim-pw-12345"})
    context = broker.client_tls()
    head = write_repo(tmp_path / "repo", {"x-1": {"site": "x"}, "x-2": {"site": "x"}}, {})
    publish_retained(
        Endpoint(
            broker.port, host="127.0.0.1", tls=context, username="sim", password="sim-pw-12345"
        ),
        ((f"{PREFIX}/{n}/status", status(n, "Synced", head)) for n in ("x-1", "x-2")),
    )
    url = f"mqtts://127.0.0.1:{broker.port}"
    tls = ["--ca-cert", str(certs.ca), "--username", "fleet", "--password-secret", "fleet-mqtt"]
    base = [*reconcile_cmd(), "fleet", "status", str(tmp_path / "repo"), "--broker", url]

    def run(*extra: str, secret: str = password) -> subprocess.CompletedProcess[str]:
        env = subprocess_env(RECONCILER_SECRET_FLEET_MQTT=secret)
        return subprocess.run(
            [*base, "--prefix", PREFIX, *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    ok = run(*tls, "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["summary"]["Synced"] == 2

    wrong = run(*tls, secret="not-the-password")
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert "refused" in wrong.stderr and "Traceback" not in wrong.stderr
    assert "not-the-password" not in wrong.stderr

    untrusted = run("--username", "fleet", "--password-secret", "fleet-mqtt")
    assert untrusted.returncode == 1 and "certificate" in untrusted.stderr
    assert password not in untrusted.stderr


def test_progress_bar_only_on_a_terminal(broker: Broker, fleet: tuple[Path, str]) -> None:
    import os
    import pty

    repo, _head = fleet
    leader, follower = pty.openpty()
    url = f"mqtt://127.0.0.1:{broker.port}"
    env = subprocess_env(XDG_CACHE_HOME=str(repo.parent / "cache"))
    try:
        done = subprocess.run(
            [*reconcile_cmd(), "fleet", "status", str(repo), "--broker", url, "--prefix", PREFIX,
             "--json"],
            stdout=subprocess.PIPE, stderr=follower, env=env, timeout=120,
        )  # fmt: skip
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert json.loads(done.stdout)["summary"]["Unknown"] == 4  # stdout stays clean JSON
    assert b"statuses received (30 in the repo)" in shown
    assert shown.endswith(b"\r\x1b[K")  # the bar is wiped before the result


def test_over_websocket_and_unreachable_broker(
    tmp_path: Path, new_broker: Callable[..., Broker]
) -> None:
    broker = new_broker(websocket=True)
    head = write_repo(tmp_path / "repo", {"w-1": {"site": "w"}}, {})
    publish_retained(
        Endpoint(broker.port), [(f"{PREFIX}/w-1/status", status("w-1", "Synced", head))]
    )
    env = subprocess_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    base = [*reconcile_cmd(), "fleet", "status", str(tmp_path / "repo"), "--prefix", PREFIX]
    ws = subprocess.run(
        [*base, "--broker", f"ws://127.0.0.1:{broker.ws_port}/mqtt", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ws.returncode == 0, ws.stderr
    assert json.loads(ws.stdout)["summary"]["Synced"] == 1

    broker.stop()
    gone = subprocess.run(
        [*base, "--broker", f"mqtt://127.0.0.1:{broker.port}", "--timeout", "3"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert gone.returncode == 1 and gone.stdout == ""
    assert gone.stderr.startswith("error: ") and "refused the connection" in gone.stderr
    assert gone.stderr.count("\n") == 1


def test_operation_results_across_the_fleet(tmp_path: Path, broker: Broker) -> None:
    """A one-shot operation rolled out to a site: each device's reported run is in --json,
    and the text tallies the results per operation, naming the devices that failed or are
    still rebooting."""
    devices = {f"op-{i}": {"site": "a"} for i in range(4)}
    head = write_repo(tmp_path / "repo", devices, {"site-a": "site: a"})
    at = "2026-12-07T02:00:00Z"

    def ran(result: str, detail: str | None = None) -> list[dict[str, Any]]:
        run = {"name": "bios-reboot-2026-12", "action": "reboot", "result": result, "at": at}
        return [run | {"detail": detail}]

    reports = {
        "op-0": status("op-0", "Synced", head, operations=ran("ok")),
        "op-1": status("op-1", "Synced", head, operations=ran("ok")),
        "op-2": status("op-2", "Failed", head, operations=ran("failed", "exit code 1")),
        "op-3": status("op-3", "Progressing", head, operations=ran("running")),
    }
    publish_retained(
        Endpoint(broker.port), ((f"{PREFIX}/{n}/status", p) for n, p in reports.items())
    )
    out = json.loads(fleet_status(broker, tmp_path / "repo", "--json").stdout)
    runs = {run["device"]: run for run in out["operations"]}
    assert runs["op-2"] == {
        "device": "op-2", "name": "bios-reboot-2026-12", "action": "reboot",
        "result": "failed", "at": at, "detail": "exit code 1",
    }  # fmt: skip
    assert [runs[f"op-{i}"]["result"] for i in range(4)] == ["ok", "ok", "failed", "running"]
    assert "operations" not in out["devices"][0]  # the rows keep the contract's keys

    text = fleet_status(broker, tmp_path / "repo").stdout
    assert "Operations (1):" in text
    assert "  bios-reboot-2026-12 (reboot): failed 1, ok 2, running 1" in text
    assert "    failed: op-2" in text and "    running: op-3" in text
