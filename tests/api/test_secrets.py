"""No response (body or header) and no log line ever holds a secret value: every route is
called, event streams are read, logins fail and succeed, and a rotated secret puts a
sensitive change into the plan and the status."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from apikit import NEVER_SHOWN, PASSWORDS, UNO, apply_spec, read_events, serve, write_secrets

from reconciler.api.routes import OPERATIONS

ROTATED = "rotated-mqtt-Secret-Value-12"


def scan(response: httpx.Response, where: str, secrets: dict[str, str]) -> None:
    raw = response.read() if not response.is_stream_consumed else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    for name, value in secrets.items():
        assert value not in headers, f"secret {name} in the headers of {where}"
        assert value.encode() not in raw, f"secret {name} in the body of {where}"


def test_no_route_ever_shows_a_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets_dir = write_secrets(tmp_path / "secrets")
    state = tmp_path / "state"
    apply_spec(UNO, state, secrets_dir)
    (secrets_dir / "mqtt-password").write_text(ROTATED + "\n")  # the plan now has a change
    secrets = {**NEVER_SHOWN, "rotated": ROTATED}
    served = serve(UNO, state, secrets_dir)
    try:
        token = served.token()
        with served.client(token) as c:
            plan = c.get("/reconciler/api/plan").json()
            assert [ch["path"] for ch in plan["changes"]] == ["cloud.mqtt.password"]
            assert plan["changes"][0]["after"] == "(sensitive)"
            for op in OPERATIONS:
                path = (
                    op.path.replace("{id}", "0").replace("{name}", "ssh").replace("{uuid}", "wlan0")
                )
                if op.media == "text/event-stream":
                    continue
                for method in ("GET", "HEAD", "PUT", "DELETE"):
                    scan(c.request(method, path), f"{method} {path}", secrets)
                scan(c.get(path, headers={"Authorization": ""}), f"401 {path}", secrets)
            for path in ["/platform/api/perif/gpio/99", "/platform/api/perif/redundant_power"]:
                scan(c.get(path), path, secrets)
            for op in [o for o in OPERATIONS if o.sse or o.media == "text/event-stream"]:
                headers = {"Accept": "text/event-stream"}
                with c.stream("GET", op.path, headers=headers) as stream:
                    if stream.status_code == 200:
                        events = read_events(stream, 6)
                        assert events
                        for name, value in secrets.items():
                            assert value not in repr(events), f"secret {name} in {op.path} SSE"
            scan(c.post("/auth/logout"), "logout", secrets)
        with served.client() as c:
            for user, password in PASSWORDS.items():
                scan(c.get("/auth/token", auth=(user, password)), f"token {user}", secrets)
                for _ in range(3):  # enough to lock (authLock failTimes: 3)
                    scan(c.get("/auth/token", auth=(password, password)), "swapped", secrets)
                    body = {"username": user, "password": password + "x"}
                    scan(c.post("/auth/login", json=body), f"failed login {user}", secrets)
    finally:
        served.handle.stop()
    ours = [r for r in caplog.records if r.name.startswith(("reconciler", "uvicorn"))]
    log = "\n".join(r.getMessage() for r in ours)
    assert "account 'monitor' locked" in log and "(an unknown name) locked" in log
    for name, value in secrets.items():
        assert value not in log, f"secret {name} in the log"
