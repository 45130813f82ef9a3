"""The simulated device: its state is a JSON document in the state directory.

The document has the same shape as the spec (the observed state), created from the
model's factory defaults on first use and written atomically on every change. Secrets are
kept only as fingerprints, passwords only as crypt hashes. Faults can be injected per area
to test failure handling: `once`, `always`, or `ignore` (report success, change nothing).

Safe apply works here as on real hardware: each area can be checkpointed and restored, and
the must-reach targets are probed from the host. Its knobs (confirmWindow, probeInterval,
guard, mustReach) may be kept in <state-dir>/sim/options.json.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.areas import AREA_NAMES
from reconciler.drivers.sim import rules
from reconciler.drivers.sim.factory import factory_state
from reconciler.drivers.sim.operations import SimOperationsDriver
from reconciler.engine.change import Change, Item, dotted_path, is_secret_ref
from reconciler.engine.change import Path as ChangePath
from reconciler.engine.credentials import fingerprint, hash_password
from reconciler.engine.document import MISSING, Editor, get, set_value
from reconciler.engine.ports import SafeApplyOptions, SecretLookup
from reconciler.errors import DeviceFailed, OperationError
from reconciler.fsutil import atomic_write
from reconciler.paths import state_path
from reconciler.profiles import HardwareProfile, get_profile

FAULT_MODES = ("once", "always", "ignore")
OPTION_KEYS = {
    "mustReach": "must_reach",
    "confirmWindow": "confirm_window",
    "probeInterval": "probe_interval",
    "guard": "guard",
}


def _profile(model: str) -> HardwareProfile:
    try:
        return get_profile(model)
    except KeyError as exc:
        raise OperationError(str(exc.args[0])) from None


def materialize(value: Any, secrets: SecretLookup, in_users: bool = False) -> Any:
    """What the device stores for a spec value: fingerprints for secrets, hashes for
    account passwords (`password` -> `passwordHash`)."""
    if is_secret_ref(value):
        return fingerprint(secrets(value["secretRef"]))
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if in_users and key == "password" and is_secret_ref(item):
                out["passwordHash"] = hash_password(secrets(item["secretRef"]))
            else:
                out[key] = materialize(item, secrets, in_users)
        return out
    if isinstance(value, list):
        return [materialize(v, secrets, in_users) for v in value]
    return value


def _sim_file(change: Change, secrets: SecretLookup) -> Any:
    """A managed file as the simulated device keeps it: content only as a fingerprint, and
    the defaults a real write gives a new file (0644, or 0600 for a secret; root:root)."""
    value = change.after
    if change.path[-1] == "content":
        return fingerprint(secrets(value["secretRef"]) if is_secret_ref(value) else value)
    if not isinstance(value, dict) or len(change.path) != 2:
        return materialize(value, secrets)
    item = dict(value)
    content = item.get("content")
    secret = is_secret_ref(content)
    if content is not None:
        item["content"] = fingerprint(secrets(content["secretRef"]) if secret else content)
    defaults = {"mode": "0600" if secret else "0644", "owner": "root", "group": "root"}
    return {**defaults, **item}


def _in_users(change: Change) -> bool:
    return "users" in change.path and any(isinstance(p, Item) for p in change.path)


class SimAreaDriver:
    """One area of the simulated device."""

    def __init__(self, backend: SimBackend, area: str) -> None:
        self.backend = backend
        self.area = area

    def observe(self) -> Any:
        return self.backend.observe().get(self.area)

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        with self.backend.exclusive():
            self._apply(changes, secrets)

    def _apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        fault = self.backend.take_fault(self.area)
        if fault in ("once", "always"):
            raise DeviceFailed(f"injected fault: the simulated device failed to apply {self.area}")
        new = dict(self.backend.current())  # read-modify-write on the device as it is now
        editor = Editor(new, copy_on_write=True)  # copies only what the changes touch
        for change in changes:
            users = _in_users(change)
            if change.op == "remove":
                editor.remove(change.path)
            elif users and change.path[-1] == "password":
                editor.set(
                    (*change.path[:-1], "passwordHash"),
                    hash_password(secrets(change.after["secretRef"])),
                    owned=True,
                )
            elif self.area == "files":
                editor.set(change.path, _sim_file(change, secrets), owned=True)
            else:
                # materialize builds new containers: the device owns them as they are
                editor.set(change.path, materialize(change.after, secrets, users), owned=True)
        check = rules.CHECKS.get(self.area)
        if check is not None:
            check(new.get(self.area), changes, self.backend.profile)
        if fault == "ignore":
            return
        self.backend.state = new
        self.backend.save()

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]:
        return {"state": self.observe()}

    def restore(self, snap: dict[str, Any]) -> None:
        with self.backend.exclusive():
            self.backend.current()[self.area] = snap["state"]
            self.backend.save()


class SimBackend:
    name = "sim"

    def __init__(
        self, root: Path, profile: HardwareProfile, state: dict[str, Any], text: str | None = None
    ) -> None:
        self.root = root
        self.profile = profile
        self.state = state
        self._text = text
        """The device file's text `state` was read from or written as (None: unknown)."""
        self.must_reach: tuple[str, ...] = ()
        """agent.mustReach of the spec being applied (operations.open_backend sets it)."""

    @property
    def device_file(self) -> Path:
        return self.root / "device.json"

    @property
    def faults_file(self) -> Path:
        return self.root / "faults.json"

    @classmethod
    def open(cls, state_dir: Path, model: str | None) -> SimBackend:
        """The sim device in `state_dir`, created from `model`'s defaults if new."""
        root = state_dir / "sim"
        path = root / "device.json"
        try:
            if path.exists():
                text = path.read_text()
                saved = json.loads(text)
                if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
                    raise ValueError("not a simulated device document")
                if model and saved.get("model") != model:
                    article = "an" if model[:1].upper() in ("A", "E", "I", "O") else "a"
                    raise OperationError(
                        f"{state_dir} holds a simulated {saved.get('model')}, but the spec is "
                        f"for {article} {model}; use another --state-dir or `reconcile sim reset`"
                    )
                return cls(root, _profile(str(saved.get("model"))), saved["state"], text)
            if not model:
                raise OperationError(
                    f"no simulated device in {state_dir} yet: say which model (--model, or a spec)"
                )
            backend = cls(root, _profile(model), factory_state(_profile(model)))
            backend.save()
            return backend
        except (OSError, ValueError) as exc:
            raise OperationError(f"cannot use the simulated device in {root}: {exc}") from None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One writer at a time (the agent's apply, a Modbus write, `sim set`), across
        processes, like a device serialising its own configuration changes."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "device.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self) -> None:
        self._text = None  # until written: a failed write leaves `state` unknown
        # compact: the C encoder (an indent would take the pure-Python one, 10x slower)
        data = json.dumps({"model": self.profile.model, "state": self.state}, separators=(",", ":"))
        atomic_write(self.device_file, data.encode(), mode=0o600)
        self._text = data

    def driver(self, area: str) -> SimAreaDriver | SimOperationsDriver:
        if area == "operations":
            return SimOperationsDriver(self)
        return SimAreaDriver(self, area)

    # -- what the engine's safe apply needs (ports.Probing) --------------------------

    def safe_apply_options(self) -> SafeApplyOptions:
        try:
            saved = json.loads((self.root / "options.json").read_text())
            kwargs = {OPTION_KEYS[k]: v for k, v in saved.items()}
            options = SafeApplyOptions(**kwargs)
        except FileNotFoundError:
            options = SafeApplyOptions()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise OperationError(f"cannot read {self.root / 'options.json'}: {exc}") from None
        targets = (*tuple(options.must_reach), *self.must_reach)
        return replace(options, must_reach=tuple(dict.fromkeys(targets)))

    def unreachable(self, targets: Sequence[str], timeout: float) -> list[str]:
        """Probed from the host: the simulated device shares its network."""
        from reconciler.drivers import reach  # sockets and threads: at apply time only

        return reach.unreachable(list(targets), timeout)

    def reopen(self) -> tuple[str, dict[str, Any]]:
        return "reconciler.drivers.sim.backend:reopen_driver", {"state_dir": str(self.root.parent)}

    def observe(self) -> dict[str, Any]:
        """The configuration areas, re-read from disk: another process may have changed
        the device since this one opened it (level-based, like reading real hardware).
        The caller owns the result (a fresh parse: cheaper than a deep copy)."""
        fresh: dict[str, Any] = json.loads(self.device_file.read_text())["state"]
        return fresh

    def current(self) -> dict[str, Any]:
        """`state` as the device file holds it now, for a read-modify-write under
        `exclusive()`: re-parsed only when the file changed since this backend last read or
        wrote it (its text differs), so one change to a large device is not a full parse."""
        text = self.device_file.read_text()
        if text != self._text:
            self.state, self._text = json.loads(text)["state"], text
        return self.state

    def observe_all(self) -> dict[str, Any]:
        """Configuration plus read-only telemetry (for `observe`, tags and the API)."""
        from reconciler.drivers.sim import telemetry

        out = self.observe()
        out["system"].update(telemetry.system_usage())
        out["hwmon"] = telemetry.hwmon(self.profile)
        out["host"] = {**telemetry.host_facts(self.profile), "hostname": out["system"]["hostname"]}
        out["disks"] = telemetry.disks()
        out.update(telemetry.hardware(self.profile, out))
        return out

    # -- test and demo hooks -------------------------------------------------------

    def set_out_of_band(
        self, dotted: str, value: Any, check: Callable[[str, Any, Any], list[str]] | None = None
    ) -> str:
        """Drift: change the device behind the reconciler's back; returns the path as the
        plan prints it. `dotted` may be written as the plan prints paths, with or without
        `spec.`. `check(area, before, after)` sees the area holding only the
        changed path (before: its old value, if any) and names what the device cannot
        hold; nothing is written then."""
        with self.exclusive():
            self.current()
            path = state_path(self.state, dotted)
            new = copy.deepcopy(self.state)
            try:
                set_value(new, path, value)
            except (TypeError, AttributeError):
                raise OperationError(f"{dotted} is not a settable path on the device") from None
            if check is not None:
                self._check(path, value, check)
            self.state = new
            self.save()
        return dotted_path(path)

    def _check(
        self, path: ChangePath, value: Any, check: Callable[[str, Any, Any], list[str]]
    ) -> None:
        area = str(path[0])
        before: dict[str, Any] = {}
        old = get(self.state, path)
        if old is not MISSING:
            set_value(before, path, old)
        after: dict[str, Any] = {}
        set_value(after, path, value)
        problems = check(area, before.get(area), after[area])
        if problems:
            model = self.profile.model
            raise OperationError(f"the simulated {model} cannot hold that: {'; '.join(problems)}")

    def inject_fault(self, area: str, mode: str) -> None:
        if area not in AREA_NAMES:
            raise OperationError(f"unknown area {area!r}; areas: {', '.join(AREA_NAMES)}")
        faults = self._faults()
        if mode == "clear":
            faults.pop(area, None)
        elif mode in FAULT_MODES:
            faults[area] = mode
        else:
            raise OperationError(f"unknown fault mode {mode!r}")
        atomic_write(self.faults_file, json.dumps(faults).encode())

    def take_fault(self, area: str) -> str | None:
        faults = self._faults()
        mode = faults.get(area)
        if mode == "once":
            del faults[area]
            atomic_write(self.faults_file, json.dumps(faults).encode())
        return mode

    def _faults(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.faults_file.read_text()))
        except FileNotFoundError:
            return {}

    def reset(self) -> None:
        self.state = factory_state(self.profile)
        self.save()
        self.faults_file.unlink(missing_ok=True)


def reopen_driver(area: str, state_dir: str) -> SimAreaDriver | SimOperationsDriver:
    """The area's driver from plain arguments (SimBackend.reopen), for the revert guard."""
    return SimBackend.open(Path(state_dir), None).driver(area)
