"""The linux backend's readings, shaped by the status endpoint, against the platform portal
reference's examples (the comparison of tests/api/portaldoc.py): interface speeds and
counters, disks with S.M.A.R.T. rawData, the PCI device list, displays and power inputs,
read from a fake root whose sysfs and procfs files are the golden fact inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api.portaldoc import differences, gets
from linux_fakehost import TOOLS, FakeMachine, fact_input

from reconciler.api import inventory, portal
from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.runner import Completed, FakeRunner

EXAMPLES = {g["path"]: g["example"] for g in gets() if g["transport"] == "http" and "example" in g}
Shape = Callable[[dict[str, Any], LinuxBackend], Any]
SHAPES: dict[str, Shape] = {
    "/platform/api/networking/interfaces": lambda o, b: portal.interfaces(o, b.profile),
    "/platform/api/perif/disk": lambda o, b: portal.disks(o),
    "/platform/api/perif/disk/partition": lambda o, b: portal.partitions(o),
    "/platform/api/perif/redundant_power": lambda o, b: portal.redundant_power(o),
    "/platform/api/devmgr": lambda o, b: inventory.devices(o),
    "/platform/api/host/display/count": lambda o, b: inventory.display_count(o),
    "/platform/api/hwmon/voltages": lambda o, b: portal.hwmon_kind(o, "voltage"),
}


@pytest.mark.parametrize("path", sorted(SHAPES))
def test_linux_reading_has_the_documented_shape(backend: LinuxBackend, path: str) -> None:
    body = SHAPES[path](backend.observe_all(), backend)
    assert differences(body, EXAMPLES[path], path) == []


def test_linux_readings_come_from_the_host(backend: LinuxBackend) -> None:
    observed = backend.observe_all()
    eth = {i["name"]: i for i in portal.interfaces(observed, backend.profile)}
    assert (eth["eth0"]["speed"], eth["eth1"]["speed"]) == ("1 Gbps", "100 Mbps")
    assert eth["eth0"]["iocounters"]["bytesRecv"] == 5103663236  # /proc/net/dev
    assert eth["eth1"]["iocounters"]["fifoin"] == 1
    (sda,) = portal.disks(observed)
    hours = next(a for a in sda["smartAttributes"] if a["id"] == 9)
    assert hours["rawData"] == [118, 38, 0, 0, 0, 0]  # 9846 hours, as the doc's example
    assert portal.redundant_power(observed) == {"vin1State": 1, "vin2State": 0}
    assert inventory.display_count(observed) == 1
    devices = inventory.devices(observed)
    assert {"vendorID": "1AF4", "deviceID": "1041", "status": "running"}.items() <= next(
        d for d in devices if d["name"].startswith("Network controller")
    ).items()


def test_wifi_networks_come_from_the_scan_cache(tmp_path: Path) -> None:
    """`iw dev wlan0 scan dump` (read-only: it triggers no scan) as the wifi/networks read."""
    machine = FakeMachine(tmp_path / "root")
    machine.write("/sys/class/net/wlan0/wireless/.keep", "")
    dump = fact_input("IwScanDump", "three-networks")
    ran: list[tuple[str, ...]] = []

    def handle(argv: tuple[str, ...], stdin: str | None) -> Completed | str:
        if argv[0] != "iw":
            return machine.handle(argv, stdin)
        ran.append(argv)
        return dump

    runner = FakeRunner(handle, tools=(*TOOLS, "iw"))
    backend = LinuxBackend.open(tmp_path / "state", "UNO-2484G", machine.root, runner)
    networks = inventory.wifi_networks(backend.observe_all(), "wlan0")
    assert ran == [("iw", "dev", "wlan0", "scan", "dump")]
    assert [n["ssid"] for n in networks] == ["SQA_2.4G", "plant-guest", "FIVEGGGGGHZ"]
    assert [n["alreadyConnected"] for n in networks] == [True, False, False]
    path = "/platform/api/networking/wifi/networks/{uuid}"
    assert differences(networks, EXAMPLES[path], path) == []


def test_without_a_wifi_interface_there_are_no_scan_results(backend: LinuxBackend) -> None:
    observed = backend.observe_all()
    assert "wifiNetworks" not in observed
    assert "no Wi-Fi interface" in observed["unavailable"]["wifiNetworks"]
