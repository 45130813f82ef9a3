"""Route handlers: read through the cache, shape, answer. Errors are raised, not built:
the app turns Unavailable into 404, BadParameter into 400 and so on (app.py)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from reconciler import __version__
from reconciler.api import edgehub, hostinfo, inventory, metrics, portal, sse
from reconciler.api.httpauth import (
    COOKIE,
    USER_KEY,
    basic_credentials,
    bearer_token,
    wants_events,
)
from reconciler.api.portal import Unavailable
from reconciler.api.responses import JSON, dumps
from reconciler.spec.permissions import PROCESSES_READ

PRIVATE_PROCESS_FIELDS = frozenset({"cmdline"})
"""Process fields only holders of processes:read see (arguments may carry secrets)."""

if TYPE_CHECKING:
    from reconciler.api.app import StatusApi
    from reconciler.api.cache import Snapshot

API_VERSION = 1.2
"""The portal API version this endpoint follows (GET /auth/version)."""
MAX_LOGIN_BODY = 8192
HISTORY_LIMIT = (1, 1000, 50)


class QueryError(ValueError):
    """A malformed query parameter or body (400 with a Code/Message body)."""


class Unauthorized(Exception):
    """Login failed (401 with the documented Code/Message body)."""


Observed = dict[str, Any]


class Handlers:
    """One method per route of routes.OPERATIONS (by name)."""

    def __init__(self, api: StatusApi) -> None:
        self.api = api
        self.hw = api.context.backend.profile
        self._cpu_info: dict[str, Any] | None = None

    # -- plumbing -----------------------------------------------------------------------

    async def observed(self) -> Snapshot:
        return await self.api.cache.get("observed", self.api.observe_all)

    async def _shaped(self, name: str, shape: Callable[[Observed], Any]) -> Response:
        """The JSON of `shape(observed)`, rendered once per device read."""
        snap = await self.observed()
        body = self.api.cache.rendered("observed", name, snap, lambda o: dumps(shape(o)))
        return Response(body, media_type=JSON)

    async def _observed_route(
        self, request: Request, name: str, shape: Callable[[Observed], Any]
    ) -> Response:
        """JSON, or for `Accept: text/event-stream` an event stream of it (portal SSE)."""
        if wants_events(request.scope["headers"]):
            return await self._stream_of(lambda: self._observed_value(shape))
        return await self._shaped(name, shape)

    async def _stream_of(self, read: Callable[[], Awaitable[Any]]) -> Response:
        """`event: message` frames of `read()`; a first read that fails answers normally."""
        first = dumps(await read())

        async def produce() -> sse.Batch:
            try:
                return [("message", dumps(await read()))]
            except Unavailable:
                return []

        return self._events([("message", first)], produce)

    def _events(self, first: sse.Batch, produce: Callable[[], Awaitable[sse.Batch]]) -> Response:
        body = sse.stream(first, produce, self.api.context.sse_interval, self.api.closing)
        return StreamingResponse(
            body,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def _observed_value(self, shape: Callable[[Observed], Any]) -> Any:
        return shape((await self.observed()).value)

    async def _processes(self, full: bool) -> list[dict[str, Any]]:
        """The process list; command lines only if `full` (the reader holds processes:read):
        secrets passed as arguments must not reach every status reader."""
        snap = await self.api.cache.get("processes", hostinfo.processes)
        if not snap.value:
            raise Unavailable("Processes")
        if full:
            return list(snap.value)
        return [{k: v for k, v in p.items() if k not in PRIVATE_PROCESS_FIELDS} for p in snap.value]

    def _sees_command_lines(self, request: Request) -> bool:
        user = request.scope.get(USER_KEY)
        return isinstance(user, str) and self.api.auth.holds(user, PROCESSES_READ)

    async def _systemperf(self) -> dict[str, Any]:
        if self._cpu_info is None:
            self._cpu_info = hostinfo.cpu_info()
        info = self._cpu_info

        def read() -> dict[str, Any]:
            return {
                "cpu": {"info": info, "usage": hostinfo.cpu_usage()},
                "memory": hostinfo.memory(),
            }

        snap = await self.api.cache.get("systemperf", read)
        return dict(snap.value)

    # -- auth -------------------------------------------------------------------------

    async def pong(self, request: Request) -> Response:
        return Response(b"pong", media_type="text/plain")

    async def api_version(self, request: Request) -> Response:
        return Response(dumps({"version": API_VERSION}), media_type=JSON)

    async def agent_info(self, request: Request) -> Response:
        return Response(dumps({"version": f"v{__version__}"}), media_type=JSON)

    def _check_account_type(self, request: Request) -> None:
        """`?m=0` (OS account) or `?m=2` (admin): both mean an account of the spec here."""
        values = request.query_params.getlist("m")
        if len(values) > 1 or (values and values[0] not in ("0", "2")):
            raise QueryError("m must be 0 (OS account) or 2 (admin account)")

    async def _issue(self, request: Request, user: str, password: str) -> Response:
        from anyio import to_thread

        address = request.client.host if request.client is not None else ""
        result = await to_thread.run_sync(self.api.auth.login, user, password, address)
        if not result.ok:
            raise Unauthorized(result.message)
        token, claims = self.api.signer.issue(user)
        expire = datetime.fromtimestamp(claims.expires).astimezone().isoformat(timespec="seconds")
        response = Response(dumps({"code": 200, "expire": expire, "token": token}), media_type=JSON)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self.api.signer.ttl),
            httponly=True,
            secure=self.api.context.tls,
            samesite="strict",
        )
        response.headers["cache-control"] = "no-store"
        return response

    async def token(self, request: Request) -> Response:
        self._check_account_type(request)
        credentials = basic_credentials(request.scope["headers"])
        if credentials is None:
            raise Unauthorized("Login Failed: send HTTP Basic credentials")
        return await self._issue(request, *credentials)

    async def login(self, request: Request) -> Response:
        self._check_account_type(request)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LOGIN_BODY:
                raise QueryError("request body too large")
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise QueryError('expected a JSON body {"username": ..., "password": ...}') from None
        if not isinstance(data, dict):
            raise QueryError('expected a JSON body {"username": ..., "password": ...}')
        user, password = data.get("username"), data.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            raise QueryError("username and password must be strings")
        return await self._issue(request, user, password)

    async def certificate(self, request: Request) -> Response:
        """The public certificate of the token signing key (PEM), as the reference's
        file download: clients verify ES256 tokens with it."""
        headers = {
            "Content-Description": "File Transfer",
            "Content-Transfer-Encoding": "Binary",
            "Content-Disposition": "attachment; filename=cert.pem.crt",
        }
        return Response(
            self.api.signing.certificate_pem, media_type="application/octet-stream", headers=headers
        )

    async def logout(self, request: Request) -> Response:
        token = bearer_token(request.scope, allow_query=False)
        claims = self.api.signer.verify(token) if token else None
        if claims is not None:
            self.api.signer.revoke(claims)
        response = Response(dumps({"code": 200}), media_type=JSON)
        response.delete_cookie(COOKIE, httponly=True, secure=self.api.context.tls)
        return response

    # -- hardware monitor ----------------------------------------------------------------

    async def hwmon(self, request: Request) -> Response:
        return await self._observed_route(request, "hwmon", portal.hwmon)

    async def temperatures(self, request: Request) -> Response:
        return await self._shaped("temperature", lambda o: portal.hwmon_kind(o, "temperature"))

    async def voltages(self, request: Request) -> Response:
        return await self._shaped("voltage", lambda o: portal.hwmon_kind(o, "voltage"))

    async def currents(self, request: Request) -> Response:
        return await self._shaped("current", lambda o: portal.hwmon_kind(o, "current"))

    async def fanspeeds(self, request: Request) -> Response:
        return await self._shaped("fanspeed", lambda o: portal.hwmon_kind(o, "fanspeed"))

    # -- host, performance ---------------------------------------------------------------

    async def host_info(self, request: Request) -> Response:
        return await self._shaped("host", lambda o: portal.host_info(o, self.hw))

    async def display_count(self, request: Request) -> Response:
        return await self._shaped("displays", inventory.display_count)

    async def devmgr(self, request: Request) -> Response:
        return await self._shaped("devmgr", inventory.devices)

    async def control_display(self, request: Request) -> Response:
        await self._observed_value(inventory.display_control)
        return Response(status_code=204)

    # -- ETP -----------------------------------------------------------------------------

    async def etp_device(self, request: Request) -> Response:
        data = await self._observed_value(inventory.etp_device)
        return Response(status_code=204) if data is None else Response(dumps(data), media_type=JSON)

    async def etp_user(self, request: Request) -> Response:
        return await self._shaped("etp_user", inventory.etp_user)

    async def etp_lock(self, request: Request) -> Response:
        return await self._shaped("etp_lock", inventory.etp_lock)

    async def systemperf(self, request: Request) -> Response:
        return Response(dumps(await self._systemperf()), media_type=JSON)

    async def cpu(self, request: Request) -> Response:
        return Response(dumps((await self._systemperf())["cpu"]), media_type=JSON)

    async def memory(self, request: Request) -> Response:
        return Response(dumps((await self._systemperf())["memory"]), media_type=JSON)

    # -- peripherals ---------------------------------------------------------------------

    async def leds(self, request: Request) -> Response:
        return await self._shaped("leds", portal.leds)

    async def led(self, request: Request) -> Response:
        raw = request.path_params["id"]
        value = await self._observed_value(lambda o: portal.led(o, raw))
        return Response(dumps(value), media_type=JSON)

    async def watchdog(self, request: Request) -> Response:
        return await self._shaped("wdt", portal.watchdog)

    async def disks(self, request: Request) -> Response:
        return await self._observed_route(request, "disk", portal.disks)

    async def partitions(self, request: Request) -> Response:
        return await self._shaped("partitions", portal.partitions)

    async def redundant_power(self, request: Request) -> Response:
        return await self._observed_route(request, "power", portal.redundant_power)

    async def gpio_count(self, request: Request) -> Response:
        return await self._shaped("gpio_count", portal.gpio_count)

    async def gpio_all(self, request: Request) -> Response:
        return await self._shaped("gpio_all", portal.gpio_all)

    async def _pin(self, request: Request) -> dict[str, int]:
        raw = request.path_params["id"]
        pin: dict[str, int] = await self._observed_value(lambda o: portal.gpio(o, raw))
        return pin

    async def gpio(self, request: Request) -> Response:
        return Response(dumps(await self._pin(request)), media_type=JSON)

    async def gpio_dir(self, request: Request) -> Response:
        return Response(dumps({"dir": (await self._pin(request))["dir"]}), media_type=JSON)

    async def gpio_level(self, request: Request) -> Response:
        return Response(dumps({"level": (await self._pin(request))["level"]}), media_type=JSON)

    async def brightness(self, request: Request) -> Response:
        return await self._shaped("brightness", lambda o: portal.brightness(o, self.hw))

    # -- networking, processes, services -------------------------------------------------

    async def interfaces(self, request: Request) -> Response:
        return await self._observed_route(
            request, "interfaces", lambda o: portal.interfaces(o, self.hw)
        )

    async def wifi_interfaces(self, request: Request) -> Response:
        return await self._shaped("wifi", lambda o: portal.wifi_interfaces(o, self.hw))

    async def wifi_networks(self, request: Request) -> Response:
        uuid = request.path_params["uuid"]
        value = await self._observed_value(lambda o: inventory.wifi_networks(o, uuid))
        return Response(dumps(value), media_type=JSON)

    async def processes(self, request: Request) -> Response:
        full = self._sees_command_lines(request)
        if wants_events(request.scope["headers"]):
            return await self._stream_of(lambda: self._processes(full))
        return Response(dumps(await self._processes(full)), media_type=JSON)

    async def services(self, request: Request) -> Response:
        return await self._shaped("services", portal.services)

    async def service(self, request: Request) -> Response:
        name = request.path_params["name"]
        return Response(
            dumps(await self._observed_value(lambda o: portal.service(o, name))), media_type=JSON
        )

    async def _event_batch(self, full: bool) -> sse.Batch:
        """One of each event type the device can produce (pwrstatus only with the hardware;
        snmptrap never: this endpoint receives no SNMP traps)."""
        observed = (await self.observed()).value
        batch: sse.Batch = []
        for event, shape in (
            ("diskdrives", portal.disks),
            ("hwmon", portal.hwmon),
            ("netifaces", lambda o: portal.interfaces(o, self.hw)),
            ("pwrstatus", portal.redundant_power),
        ):
            with contextlib.suppress(Unavailable):
                batch.append((event, dumps(shape(observed))))
        batch.append(("processes", dumps(await self._processes(full))))
        batch.append(("systemperf", dumps(await self._systemperf())))
        return batch

    async def events(self, request: Request) -> Response:
        full = self._sees_command_lines(request)
        return self._events(await self._event_batch(full), lambda: self._event_batch(full))

    # -- edgehub -------------------------------------------------------------------------

    async def connection(self, request: Request) -> Response:
        live = self.api.context.cloud_connection
        state = live() if live is not None else None
        if state is not None:
            return Response(dumps(state), media_type=JSON)
        return await self._shaped("connection", edgehub.connection)

    async def conncfg(self, request: Request) -> Response:
        return await self._shaped("conncfg", edgehub.conncfg)

    async def macaddr(self, request: Request) -> Response:
        return await self._shaped("macaddr", lambda o: edgehub.macaddr(o, self.hw))

    async def apphub(self, request: Request) -> Response:
        return await self._shaped("apphub", edgehub.apphub)

    async def edgebus(self, request: Request) -> Response:
        return await self._shaped("edgebus", edgehub.edgebus)

    async def profile(self, request: Request) -> Response:
        processes = len(await self._processes(False))

        def shape(observed: Observed) -> dict[str, Any]:
            out = edgehub.profile(observed, self.hw, f"v{__version__}")
            return {**out, "processes": processes}

        return Response(dumps(await self._observed_value(shape)), media_type=JSON)

    # -- the reconciler's own ------------------------------------------------------------

    async def _status(self) -> dict[str, Any]:
        snap = await self.api.cache.get("status", self.api.sync.status)
        return dict(snap.value)

    async def status(self, request: Request) -> Response:
        snap = await self.api.cache.get("status", self.api.sync.status)
        body = self.api.cache.rendered("status", "json", snap, dumps)
        return Response(body, media_type=JSON)

    async def tags(self, request: Request) -> Response:
        source = self.api.context.tags
        return Response(dumps(source() if source is not None else {}), media_type=JSON)

    async def history(self, request: Request) -> Response:
        from anyio import to_thread

        low, high, default = HISTORY_LIMIT
        raw = request.query_params.getlist("limit")
        if len(raw) > 1 or (raw and (not raw[0].isascii() or not raw[0].isdigit())):
            raise QueryError(f"limit must be a whole number within {low}..{high}")
        limit = int(raw[0]) if raw else default
        if not low <= limit <= high:
            raise QueryError(f"limit must be a whole number within {low}..{high}")
        records = await to_thread.run_sync(self.api.sync.history_records, limit)
        return Response(dumps(records), media_type=JSON)

    async def plan(self, request: Request) -> Response:
        snap = await self.api.cache.get("plan", self.api.sync.plan)
        body = self.api.cache.rendered("plan", "json", snap, lambda p: dumps(p.as_dict()))
        return Response(body, media_type=JSON)

    async def metrics(self, request: Request) -> Response:
        from anyio import to_thread

        status = await self._status()
        totals = await to_thread.run_sync(self.api.sync.history.totals)
        boot_time, interfaces = await to_thread.run_sync(metrics.read_host)
        scrape = metrics.Scrape(status, totals, self.api.started_at, boot_time, interfaces)
        body = await to_thread.run_sync(metrics.render, scrape, self.api.requests)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    async def openapi(self, request: Request) -> Response:
        from reconciler.api.openapi import document_bytes

        return Response(document_bytes(), media_type=JSON)
