"""The portal backend against the emulator on loopback, through the `reconcile` CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from portalkit import CREDENTIALS, Unit
from testkit import Result, reconcile_cmd, subprocess_env

from reconciler.engine.ports import Checkpointing

PASSWORD = CREDENTIALS.split(":", 1)[1]


def test_observe_needs_no_spec_or_model_and_matches_the_unit(unit: Unit) -> None:
    unit.device.gpio[2] = {"pin": 2, "dir": 0, "level": 1}
    unit.device.wdt["timeoutInSeconds"] = 42
    run = subprocess.run(
        [*reconcile_cmd(), "observe", "--json", *unit.args],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["model"] == "UNO-2484G"  # from host/info deviceName UNO-2484G-673xAE
    assert seen["watchdog"]["timeoutSeconds"] == 42
    assert seen["watchdog"]["timeoutMaxInSeconds"] == 255
    assert seen["gpio"]["pins"]["2"] == {"direction": "output", "level": "high"}
    assert seen["gpio"]["pins"]["1"]["direction"] == "input"
    assert seen["leds"] == {str(i): "off" for i in range(8)}
    assert seen["brightness"] == 5 and seen["limits"]["brightness"] == [0, 9]
    assert seen["services"] == unit.device.services
    eth0 = seen["network"]["interfaces"]["eth0"]
    assert eth0 == {"dhcp": True, "address": "10.0.0.50/24", "gateway": "10.0.0.1",
                    "mtu": 1500, "metric": 10}  # fmt: skip
    assert seen["network"]["routePriority"] == ["eth0", "eth1", "wlan0"]
    assert seen["hwmon"]["temperature"][0]["name"] == "CPU"
    assert "unavailable" not in seen
    assert unit.device.writes == []


def test_plan_is_read_only_then_apply_converges(cli: Callable[..., Result], unit: Unit) -> None:
    plan = cli("plan", "-f", unit.spec, *unit.args)
    assert plan.code == 2, plan.err
    assert "watchdog.timeoutSeconds: 60 -> 30" in plan.out
    assert unit.device.writes == []

    applied = cli("apply", "--yes", "-f", unit.spec, *unit.args)
    assert applied.code == 0, applied.err
    d = unit.device
    assert d.wdt["enabled"] is True and d.wdt["timeoutInSeconds"] == 30
    assert d.gpio[0] == {"pin": 0, "dir": 0, "level": 1}
    assert d.leds[0] and d.leds[3] and not d.leds[1]
    assert d.brightness["value"] == 7
    assert d.services["telnet"] == "stopped" and d.services["collector"] == "running"
    eth1 = next(i for i in d.interfaces if i["name"] == "eth1")
    assert eth1["dhcpEnabled"] is False and eth1["addresses"][0] == "10.0.1.20/24"
    assert eth1["dns"] == ["10.0.1.1", "10.0.0.1"] and eth1["ipv4Metric"] == 10
    # direction before level, as the doc requires for an output
    gpio = [w for w in d.writes if "gpio/0" in w]
    assert gpio == ["PUT perif/gpio/0/dir", "PUT perif/gpio/0/level"]

    again = cli("plan", "-f", unit.spec, *unit.args)
    assert again.code == 0, again.out + again.err
    assert "No changes" in again.out


def test_a_422_is_one_clear_error_and_stops_at_that_area(
    cli: Callable[..., Result], unit: Unit
) -> None:
    unit.device.refuse["PUT perif/gpio/0/dir"] = ("GPIO", "pin 0 is reserved by the BIOS")
    result = cli("apply", "--yes", "-f", unit.spec, *unit.args)
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert "gpio" in errors[0] and "pin 0 is reserved by the BIOS" in errors[0]
    assert "Traceback" not in result.err
    # areas before gpio were applied, areas after it were not touched
    assert unit.device.services["telnet"] == "stopped"
    assert not any(w.startswith(("PUT perif/led", "PUT perif/brightness", "PUT perif/wdt"))
                   for w in unit.device.writes)  # fmt: skip


def test_wrong_credentials_are_one_clear_error(
    cli: Callable[..., Result], unit: Unit, tmp_path: Path
) -> None:
    (tmp_path / "secrets" / "unit-admin").write_text("admin:not-the-password\n")
    result = cli("plan", "-f", unit.spec, *unit.args)
    assert result.code == 1
    assert result.err.strip().count("\n") == 0, result.err
    assert "refused the credentials" in result.err
    assert "not-the-password" not in result.text


def test_token_expiry_mid_apply_is_survived_by_logging_in_again(
    cli: Callable[..., Result], unit: Unit
) -> None:
    unit.device.expire_tokens_after_writes = 3
    result = cli("apply", "--yes", "-f", unit.spec, *unit.args)
    assert result.code == 0, result.err
    assert len(unit.device.issued) >= 2  # logged in again after the expiry
    assert cli("plan", "-f", unit.spec, *unit.args).code == 0


def test_no_credential_or_token_in_output_log_or_history(
    cli: Callable[..., Result], unit: Unit, tmp_path: Path
) -> None:
    outputs = [
        cli("observe", "--json", *unit.args),
        cli("plan", "--json", "-f", unit.spec, *unit.args),
        cli("apply", "--yes", "-f", unit.spec, *unit.args),
        cli("history", "--json", "--state-dir", tmp_path / "state"),
    ]
    assert outputs[2].code == 0, outputs[2].err
    unit.device.refuse["PUT perif/brightness"] = ("Brightness", "busy")
    unit.device.brightness["value"] = 1
    outputs.append(cli("apply", "--yes", "-f", unit.spec, *unit.args))
    assert outputs[-1].code == 1
    stored = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())
    secrets = [PASSWORD, *unit.device.issued, "cloud-Secret-Value-12"]
    for secret in secrets:
        for out in outputs:
            assert secret not in out.text
        assert secret.encode() not in stored


def test_an_area_the_unit_lacks_is_unavailable_and_a_spec_declaring_it_is_refused(
    cli: Callable[..., Result], unit: Unit
) -> None:
    unit.device.unsupported.add("perif/brightness")
    seen = json.loads(cli("observe", "--json", *unit.args).out)
    assert "brightness" not in seen
    assert "404" in seen["unavailable"]["brightness"]
    result = cli("plan", "-f", unit.spec, *unit.args)
    assert result.code == 1
    assert "brightness" in result.err and "unavailable" in result.err
    assert unit.device.writes == []


def test_device_ranges_are_checked_at_plan_time(
    cli: Callable[..., Result], unit: Unit, tmp_path: Path
) -> None:
    unit.device.wdt["timeoutMaxInSeconds"] = 20
    result = cli("apply", "--yes", "-f", unit.spec, *unit.args)
    assert result.code == 1
    assert "outside the device's range 10..20" in result.err
    assert unit.device.writes == []


def test_5xx_is_retried_and_4xx_is_not(cli: Callable[..., Result], unit: Unit) -> None:
    unit.device.fail_next = 2
    assert cli("observe", "--json", *unit.args).code == 0
    unit.device.refuse["PUT perif/led/0"] = ("LED", "led is locked")
    before = unit.device.requests
    spec = unit.spec.read_text().split("  gpio:")[0] + '  leds: {0: "on"}\n'
    unit.spec.write_text(spec.replace("  watchdog: {enabled: true, timeoutSeconds: 30}\n", ""))
    result = cli("apply", "--yes", "-f", unit.spec, *unit.args)
    assert result.code == 1 and "led is locked" in result.err
    puts = unit.device.requests - before
    assert puts < 12  # login, reads, one refused PUT: no retry of the 422


def _backend(unit: Unit) -> Any:
    from reconciler.drivers.portal.backend import PortalBackend
    from reconciler.drivers.portal.options import PortalOptions

    options = PortalOptions(unit.url, "unit-admin", "admin")
    return PortalBackend.open(options, lambda name: CREDENTIALS)


def test_network_checkpoint_and_restore_through_the_api(unit: Unit) -> None:
    backend = _backend(unit)
    driver = backend.driver("network")
    assert isinstance(driver, Checkpointing)
    snap = driver.checkpoint([])
    before = backend.observe()["network"]
    eth0 = unit.device.interfaces[0]
    eth0.update(dhcpEnabled=False, addresses=["10.9.9.9/24"], ipv4Metric=99)
    assert backend.observe()["network"] != before
    driver.restore(snap)
    after = backend.observe()["network"]
    assert after["interfaces"]["eth0"]["dhcp"] is True
    assert after["routePriority"] == before["routePriority"]
    assert unit.device.interfaces[0]["ipv4Metric"] == 10
    backend.close()


def test_session_never_shows_its_credentials(unit: Unit) -> None:
    backend = _backend(unit)
    backend.observe()
    token = unit.device.issued[-1]
    for shown in (repr(backend.session), repr(backend.session._credentials), repr(backend)):
        assert PASSWORD not in shown and token not in shown
    backend.close()


def test_network_change_that_cuts_the_unit_off_is_restored_by_the_engine(
    unit: Unit, tmp_path: Path
) -> None:
    """The engine's safe apply: checkpoint from the unit, apply, probe its API, restore."""
    from reconciler import operations as ops
    from reconciler.drivers.portal.backend import PortalBackend
    from reconciler.drivers.portal.options import PortalOptions

    unit.device.ping_needs = ("eth0", "10.0.0.50/24")
    spec = tmp_path / "cut.yaml"
    spec.write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: unit-1, model: UNO-2484G}\n"
        "spec:\n  network:\n    interfaces:\n"
        "      eth0: {dhcp: false, address: 10.0.0.99/24, gateway: 10.0.0.1}\n"
    )
    target = ops.load_target(str(spec), None, None)
    options = PortalOptions(unit.url, "unit-admin", "admin", confirm_window=2.0)
    backend = PortalBackend.open(options, lambda name: CREDENTIALS, "UNO-2484G")
    store = ops.open_store(tmp_path / "safe-state")
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, lambda name: "")
        result = ops.run_apply(target, plan, backend, store, lambda name: "")
    assert result.status != "applied"
    assert "reverted" in (result.error or "")
    eth0 = unit.device.interfaces[0]
    assert eth0["dhcpEnabled"] is True and eth0["addresses"][0] == "10.0.0.50/24"
    assert backend.unreachable(["unit"], 5.0) == []  # answering again
    assert "PUT networking/ipv4config/2" in unit.device.writes
    assert "DELETE networking/ipv4config/2" in unit.device.writes  # the restore
    backend.close()


def test_tls_is_verified_unless_told_otherwise(
    cli: Callable[..., Result], unit: Unit, tmp_path: Path
) -> None:
    """A unit on https: its certificate checked against --ca-cert; without one (a private
    CA) one clear error; --insecure for a lab unit."""
    from portalkit import serve
    from testkit import make_certs

    from reconciler.drivers.portal.emulator import PortalEmulator

    if shutil.which("openssl") is None:
        pytest.skip("needs openssl (Debian: openssl) to make test certificates")
    certs = make_certs(tmp_path / "certs")
    with serve(PortalEmulator({"": unit.device}), (certs.server_cert, certs.server_key)) as url:
        args = [*unit.args]
        args[args.index(unit.url)] = url
        verified = cli("observe", "--json", *args, "--ca-cert", certs.ca)
        assert verified.code == 0, verified.err
        assert json.loads(verified.out)["watchdog"]["enabled"] is unit.device.wdt["enabled"]
        untrusted = cli("observe", "--json", *args)
        assert untrusted.code == 1 and untrusted.err.count("\n") == 1, untrusted.err
        assert "Traceback" not in untrusted.err
        assert cli("observe", "--json", *args, "--insecure").code == 0
