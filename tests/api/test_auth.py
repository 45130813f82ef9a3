"""Tokens only for the spec's accounts with status:read; 401 everywhere without one;
405 for every write method; auth lock; logout; the signing key's file mode."""

from __future__ import annotations

import base64
import json
import stat
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from apikit import AUDITOR_PASSWORD, GATEWAY, PASSWORDS, UNO, Served, serve, uno, write_secrets
from cryptography.hazmat.primitives.asymmetric import ec
from documented import TOKEN, UNAUTHORIZED, assert_same_shape

from reconciler import operations as ops
from reconciler.api.routes import OPERATIONS
from reconciler.api.tokens import KEY_FILE, TokenSigner, load_signing_key
from reconciler.errors import OperationError

__all__ = ["uno"]

PUBLIC = {"/auth/ping", "/auth/version", "/auth/agentinfo", "/platform/api/ping"}
PUBLIC |= {"/platform/api/agentinfo", "/edgehub/api/ping", "/edgehub/api/agentinfo"}
PUBLIC |= {"/api/ping", "/api/agentinfo", "/api/irtm/ping", "/auth/certificate"}
PROTECTED = [
    op.path.replace("{id}", "0").replace("{name}", "ssh").replace("{uuid}", "wlan0")
    for op in OPERATIONS
    if not op.public
]


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server of its own for failed logins: they lock accounts (authLock)."""
    served = _served(tmp_path_factory.mktemp("victim"), UNO)
    yield served
    served.handle.stop()


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert_same_shape(response.json(), UNAUTHORIZED)
    assert response.json()["Code"] == 401 and response.json()["Message"]


def test_public_routes_are_exactly_ping_version_agentinfo_and_login() -> None:
    public = {op.path for op in OPERATIONS if op.public}
    assert public == PUBLIC | {"/auth/token", "/auth/login", "/auth/logout"}


def test_token_by_basic_auth(uno: Served) -> None:
    response = uno.login("monitor")
    assert response.status_code == 200
    body = response.json()
    assert_same_shape(body, TOKEN)
    assert datetime.fromisoformat(body["expire"]) > datetime.now().astimezone()
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"jwt={body['token']};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("m", ["0", "2"])
def test_login_with_json(uno: Served, m: str) -> None:
    with uno.client() as c:
        response = c.post(
            f"/auth/login?m={m}", json={"username": "auditor", "password": AUDITOR_PASSWORD}
        )
    assert response.status_code == 200, response.text
    assert_same_shape(response.json(), TOKEN)
    with uno.client(response.json()["token"]) as c:
        assert c.get("/platform/api/hwmon").status_code == 200


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("monitor", "wrong"),
        ("monitor", ""),
        ("nobody", "x"),
        ("operator", PASSWORDS["operator"]),  # right password, no status:read
        ("retired", PASSWORDS["monitor"]),  # disabled account
        ("admin", "p@ssw0rd"),  # the factory admin is not an account of the spec
    ],
)
def test_no_token_for_bad_or_unentitled_accounts(victim: Served, user: str, password: str) -> None:
    with victim.client() as c:
        basic = c.get("/auth/token", auth=(user, password))
        posted = c.post("/auth/login", json={"username": user, "password": password})
    for response in (basic, posted):
        assert_unauthorized(response)
        assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "header",
    ["", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer x"],
)
def test_malformed_basic_is_401(uno: Served, header: str) -> None:
    with uno.client() as c:
        response = c.get("/auth/token", headers={"Authorization": header} if header else {})
    assert_unauthorized(response)
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"username": 1, "password": "x"}', b'{"username": "a"}']
)
def test_malformed_login_body_is_400(uno: Served, body: bytes) -> None:
    with uno.client() as c:
        response = c.post("/auth/login", content=body)
    assert response.status_code == 400
    assert response.json()["Code"] == 400


def test_bad_account_type_is_400(uno: Served) -> None:
    with uno.client() as c:
        response = c.get("/auth/token?m=5", auth=("monitor", PASSWORDS["monitor"]))
    assert response.status_code == 400


@pytest.mark.parametrize("path", PROTECTED)
def test_every_protected_route_is_401_without_a_valid_token(uno: Served, path: str) -> None:
    token = uno.token()
    header, payload, signature = token.split(".")
    forged_payload = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload["sub"] = "operator"
    forged = base64.urlsafe_b64encode(json.dumps(forged_payload).encode()).rstrip(b"=").decode()
    other_end = "AA" if signature[-2:] != "AA" else "BA"
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    bad = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": f"Bearer {header}.{payload}.{signature[:-2]}{other_end}"},
        {"Authorization": f"Bearer {header}.{forged}.{signature}"},
        {"Authorization": f"Bearer {none_header}.{payload}."},
        {"Authorization": f"Basic {base64.b64encode(b'monitor:x').decode()}"},
    ]
    with uno.client() as c:
        for headers in bad:
            response = c.get(path, headers=headers)
            assert_unauthorized(response)
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_public_routes_need_no_token(uno: Served) -> None:
    with uno.client() as c:
        for path in PUBLIC:
            assert c.get(path).status_code == 200, path


def test_cookie_is_accepted_query_token_only_on_streams(uno: Served) -> None:
    token = uno.token()
    with uno.client(cookies={"jwt": token}) as c:
        assert c.get("/platform/api/perif/wdt").status_code == 200
    with uno.client() as c:
        assert_unauthorized(c.get(f"/platform/api/perif/wdt?token={token}"))
        with c.stream("GET", f"/platform/api/events?token={token}") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")


def test_logout_revokes_the_token(uno: Served) -> None:
    response = uno.login("monitor")
    token = response.json()["token"]
    with uno.client(token) as c:
        assert c.get("/reconciler/api/status").status_code == 200
        out = c.post("/auth/logout")
        assert out.status_code == 200 and out.json() == {"code": 200}
        assert 'jwt=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
        assert_unauthorized(c.get("/reconciler/api/status"))
    with uno.client() as c:  # logging out without a token is harmless
        assert c.post("/auth/logout").status_code == 200


def test_expired_and_foreign_tokens_are_refused(uno: Served) -> None:
    key = load_signing_key(uno.state_dir).private
    expired, _ = TokenSigner(key, 60).issue("monitor", now=1_000_000)
    foreign, _ = TokenSigner(ec.generate_private_key(ec.SECP256R1()), 600).issue("monitor")
    fresh, _ = TokenSigner(key, 600).issue("monitor")
    with uno.client() as c:
        for token in (expired, foreign):
            auth = {"Authorization": f"Bearer {token}"}
            assert_unauthorized(c.get("/platform/api/hwmon", headers=auth))
        ok = c.get("/platform/api/hwmon", headers={"Authorization": f"Bearer {fresh}"})
        assert ok.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"])
def test_every_write_method_is_405(uno: Served, method: str) -> None:
    paths = [op.path.replace("{id}", "0").replace("{name}", "ssh") for op in OPERATIONS]
    with uno.client(uno.token()) as c:
        for path in [*paths, "/no/such/route"]:
            if method == "POST" and path in ("/auth/login", "/auth/logout"):
                continue
            response = c.request(method, path, content=b"{}")
            assert response.status_code == 405, (method, path, response.text)
            assert response.json()["Code"] == 405
            expected = "POST" if path in ("/auth/login", "/auth/logout") else "GET, HEAD"
            assert response.headers["allow"] == expected
    with uno.client() as c:  # no token needed to learn that writes are refused
        assert c.request(method, "/platform/api/perif/led/0").status_code == 405


def test_login_routes_allow_only_post(uno: Served) -> None:
    with uno.client() as c:
        for path in ("/auth/login", "/auth/logout"):
            response = c.get(path)
            assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_head_is_a_read(uno: Served) -> None:
    with uno.client(uno.token()) as c:
        response = c.head("/platform/api/hwmon")
    assert response.status_code == 200 and response.content == b""


def _served(tmp_path: Path, spec: Path, **kw: object) -> Served:
    return serve(spec, tmp_path / "state", write_secrets(tmp_path / "secrets"), **kw)  # type: ignore[arg-type]


def test_auth_lock_locks_after_fail_times(tmp_path: Path) -> None:
    """uno.yaml: authLock {failTimes: 3, failWindow: 5, lockWindow: 5}."""
    served = _served(tmp_path, UNO)
    try:
        with served.client() as c:
            for _ in range(2):
                assert_unauthorized(c.get("/auth/token", auth=("auditor", "wrong")))
            assert c.get("/auth/token", auth=("auditor", AUDITOR_PASSWORD)).status_code == 200
            for _ in range(3):  # success reset the count: three more failures lock
                response = c.get("/auth/token", auth=("auditor", "wrong"))
            assert_unauthorized(response)
            assert "locked" in response.json()["Message"]
            locked = c.get("/auth/token", auth=("auditor", AUDITOR_PASSWORD))
            assert_unauthorized(locked)
            assert "locked" in locked.json()["Message"]
            posted = c.post(
                "/auth/login", json={"username": "auditor", "password": AUDITOR_PASSWORD}
            )
            assert_unauthorized(posted)
            assert c.get("/auth/token", auth=("monitor", PASSWORDS["monitor"])).status_code == 200
    finally:
        served.handle.stop()


def _from(served: Served, address: str) -> httpx.Client:
    return served.client(transport=httpx.HTTPTransport(local_address=address))


def _login_once_allowed(c: httpx.Client, user: str, password: str) -> httpx.Response:
    """Log in, waiting out a throttle as its message says (a user would)."""
    for _ in range(10):
        response = c.get("/auth/token", auth=(user, password))
        message = response.json().get("Message", "") if response.status_code == 401 else ""
        if "try again in" not in message:
            return response
        time.sleep(int(message.split("try again in ")[1].split()[0]))
    raise AssertionError(f"still throttled: {response.text}")


def test_no_lock_without_auth_lock(tmp_path: Path) -> None:
    """Without authLock failures only slow the address down: after the delay it logs in."""
    served = _served(tmp_path, GATEWAY)
    try:
        with served.client() as c:
            for _ in range(3):
                assert_unauthorized(c.get("/auth/token", auth=("monitor", "wrong")))
            throttled = c.get("/auth/token", auth=("monitor", PASSWORDS["monitor"]))
            assert_unauthorized(throttled)
            assert "too many failed logins, try again in 1 s" in throttled.json()["Message"]
            ok = _login_once_allowed(c, "monitor", PASSWORDS["monitor"])
            assert ok.status_code == 200
    finally:
        served.handle.stop()


def test_a_lock_by_name_holds_only_for_the_address_that_failed(tmp_path: Path) -> None:
    """uno.yaml locks after 3 failures: the guesser at 127.0.0.3 is locked out, the real
    user at 127.0.0.4 is not."""
    served = _served(tmp_path, UNO)
    try:
        with _from(served, "127.0.0.3") as guesser, _from(served, "127.0.0.4") as user:
            for _ in range(3):
                response = _login_once_allowed(guesser, "auditor", "wrong")
            assert "locked" in response.json()["Message"]
            locked = guesser.get("/auth/token", auth=("auditor", AUDITOR_PASSWORD))
            assert "locked" in locked.json()["Message"]
            assert user.get("/auth/token", auth=("auditor", AUDITOR_PASSWORD)).status_code == 200
    finally:
        served.handle.stop()


def test_one_address_spraying_names_is_slowed_down(tmp_path: Path) -> None:
    """Each name new, so no name throttle or lock applies: the address's own does, with a
    doubling delay, and only for that address."""
    served = _served(tmp_path, GATEWAY)
    try:
        with _from(served, "127.0.0.5") as spray, _from(served, "127.0.0.6") as user:
            messages = [
                spray.get("/auth/token", auth=(f"name{n}", "guess")).json()["Message"]
                for n in range(40)
            ]
            assert messages[:10] == [messages[0]] * 10 and "wrong user name" in messages[0]
            throttled = [m for m in messages[10:] if "too many failed logins" in m]
            assert "too many failed logins" in messages[10]
            assert len(throttled) >= 25, messages  # 1 s, 2 s, 4 s ...: a few get through
            good = spray.get("/auth/token", auth=("monitor", PASSWORDS["monitor"]))
            assert "too many failed logins" in good.json()["Message"]
            assert (
                user.get("/auth/token", auth=("monitor", PASSWORDS["monitor"])).status_code == 200
            )
    finally:
        served.handle.stop()


def test_tokens_follow_the_current_spec(tmp_path: Path) -> None:
    """Under the agent the spec changes: a token of an account that lost status:read (or
    is gone) stops working at once."""
    from reconciler.api.app import create_app
    from reconciler.api.context import ApiContext
    from reconciler.api.server import serve_in_thread
    from reconciler.secrets import SecretResolver

    with_monitor = ops.load_target(str(UNO), None, None)
    inner = with_monitor.spec.spec.model_copy(update={"access": None})
    without = ops.Target(with_monitor.spec.model_copy(update={"spec": inner}), "next commit")
    current = [with_monitor]
    state = tmp_path / "state"
    context = ApiContext(
        backend=ops.open_backend("sim", state, "UNO-2484G"),
        state_dir=state,
        secrets=SecretResolver(write_secrets(tmp_path / "secrets")),
        target=lambda: current[0],
        mode="agent",
    )
    handle = serve_in_thread(create_app(context), "127.0.0.1", 0)
    try:
        with httpx.Client(base_url=handle.url) as c:
            token = c.get("/auth/token", auth=("monitor", PASSWORDS["monitor"])).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert c.get("/platform/api/perif/wdt", headers=auth).status_code == 200
            current[0] = without
            assert_unauthorized(c.get("/platform/api/perif/wdt", headers=auth))
    finally:
        handle.stop()


def test_signing_key_is_private(uno: Served, tmp_path: Path) -> None:
    key_file = uno.state_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    state = tmp_path / "state"
    load_signing_key(state)
    (state / KEY_FILE).chmod(0o644)
    with pytest.raises(OperationError, match="chmod 600"):
        load_signing_key(state)
