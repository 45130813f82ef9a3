"""Helpers for the status endpoint tests: a real uvicorn server on a free loopback port (in
a thread), the sim backend, a test spec, secrets in a 0600 directory, and httpx clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from testkit import SECRETS

from reconciler import operations as ops
from reconciler.api.app import StatusApi, create_app
from reconciler.api.context import ApiContext, Mode
from reconciler.api.limits import ServerLimits
from reconciler.api.server import ServerHandle, serve_in_thread
from reconciler.secrets import SecretResolver

DATA = Path(__file__).resolve().parent / "data"
UNO = DATA / "uno.yaml"
GATEWAY = DATA / "gateway.yaml"

EXTRA_SECRETS = {
    "mqtt-client-cert": "client-cert-Secret-Value-22",
    "mqtt-client-key": "client-key-Secret-Value-33",
}
ALL_SECRETS = {**SECRETS, **EXTRA_SECRETS}
AUDITOR_PASSWORD = "Auditor-Hash-Pass-33"
AUDITOR_HASH = (
    "$6$7IteL6.WNn5ZlfFi$NZ8X3XevGpR/i5sglNsmsenZYvpjFcZeIfp0cJ0oUIcx8mBTnReoaJtDFiDtdR8NsAsK7n"
    "T9Z9pBJnq5q0ne0/"
)
PASSWORDS = {
    "monitor": SECRETS["monitor-password"],
    "auditor": AUDITOR_PASSWORD,
    "operator": SECRETS["operator-password"],
}
"""Every credential (and the hash) that must never appear in a response."""
NEVER_SHOWN = {**ALL_SECRETS, "auditor-password": AUDITOR_PASSWORD, "auditor-hash": AUDITOR_HASH}


def write_secrets(path: Path) -> Path:
    path.mkdir(mode=0o700, exist_ok=True)
    for name, value in ALL_SECRETS.items():
        f = path / name
        f.write_text(value + "\n")
        f.chmod(0o600)
    return path


def apply_spec(spec: Path, state_dir: Path, secrets_dir: Path) -> None:
    """What `reconcile apply --yes` does, so the endpoint has history to show."""
    target = ops.load_target(str(spec), None, None)
    backend = ops.open_backend("sim", state_dir, target.spec.metadata.model)
    store = ops.open_store(state_dir)
    secrets = SecretResolver(secrets_dir)
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, secrets)
        result = ops.run_apply(target, plan, backend, store, secrets)
    store.close()
    assert result.status == "applied", result.error


@dataclass
class Served:
    """A running endpoint and what it serves."""

    handle: ServerHandle
    app: StatusApi
    state_dir: Path
    secrets_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.handle.url

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kw.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, headers=headers, **kw)

    def login(self, user: str = "monitor") -> httpx.Response:
        with self.client() as c:
            return c.get("/auth/token", auth=(user, PASSWORDS[user]))

    def token(self, user: str = "monitor") -> str:
        if user not in self.tokens:
            response = self.login(user)
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["token"]
        return self.tokens[user]

    def get(self, path: str, user: str = "monitor", **kw: Any) -> httpx.Response:
        with self.client(self.token(user)) as c:
            return c.get(path, **kw)


def serve(
    spec: Path | None,
    state_dir: Path,
    secrets_dir: Path,
    *,
    model: str | None = None,
    mode: Mode = "serve",
    cache_seconds: float = 0.2,
    sse_interval: float = 0.1,
    token_ttl: float = 600.0,
    backend: Any = None,
    limits: ServerLimits | None = None,
) -> Served:
    target = ops.load_target(str(spec), None, None) if spec is not None else None
    if backend is None:
        model = target.spec.metadata.model if target is not None else model
        backend = ops.open_backend("sim", state_dir, model)
    context = ApiContext(
        backend=backend,
        state_dir=state_dir,
        secrets=SecretResolver(secrets_dir),
        target=target,
        mode=mode,
        cache_seconds=cache_seconds,
        sse_interval=sse_interval,
        token_ttl=token_ttl,
    )
    app = create_app(context)
    # No per-address rate by default: a module's tests all read one server from 127.0.0.1,
    # as fast as the machine allows (the rate limit has tests of its own, test_limits.py).
    handle = serve_in_thread(app, "127.0.0.1", 0, limits=limits or ServerLimits(rate=0))
    return Served(handle, app, state_dir, secrets_dir)


@pytest.fixture(scope="module")
def uno(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The UNO-2484G test device, its spec applied, served by `reconcile serve` logic."""
    root = tmp_path_factory.mktemp("uno")
    secrets_dir = write_secrets(root / "secrets")
    state_dir = root / "state"
    apply_spec(UNO, state_dir, secrets_dir)
    served = serve(UNO, state_dir, secrets_dir)
    yield served
    served.handle.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An AIG-302 (no LEDs, GPIO or brightness) in its factory state."""
    root = tmp_path_factory.mktemp("gateway")
    served = serve(GATEWAY, root / "state", write_secrets(root / "secrets"))
    yield served
    served.handle.stop()


def read_events(response: httpx.Response, count: int) -> list[tuple[str, Any]]:
    """The first `count` events of an SSE response as (event type, parsed data)."""
    events: list[tuple[str, Any]] = []
    event = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((event or "message", json.loads(line[len("data: ") :])))
            if len(events) >= count:
                break
    return events
