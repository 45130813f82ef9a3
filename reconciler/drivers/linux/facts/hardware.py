"""Pure parsers for the portal's hardware reads: link speeds (/sys/class/net), traffic
counters (/proc/net/dev, psutil's source), power inputs (/sys/class/power_supply),
display connectors (/sys/class/drm) and PCI devices (/sys/bus/pci/devices). Trees are
{relative path: file content}, as Host.tree reads them."""

from __future__ import annotations

from typing import Any

Tree = dict[str, str]

NET_DEV_FIELDS = (
    ("bytesRecv", "packetsRecv", "errin", "dropin", "fifoin"),
    ("bytesSent", "packetsSent", "errout", "dropout", "fifoout"),
)
"""/proc/net/dev's first five receive and transmit columns, in the portal's iocounters
names (what gopsutil reports)."""


def _entries(tree: Tree) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path, value in tree.items():
        name, _, attr = path.partition("/")
        if attr and "/" not in attr:
            out.setdefault(name, {})[attr] = value
    return out


def speed_text(mbps: int) -> str:
    """`1 Gbps`, `100 Mbps`, `2.5 Gbps`, as the portal writes a link speed."""
    if mbps >= 1000:
        gbps = mbps / 1000
        return f"{int(gbps) if gbps.is_integer() else gbps} Gbps"
    return f"{mbps} Mbps"


def link_speeds(tree: Tree) -> dict[str, dict[str, Any]]:
    """By interface: the negotiated speed of a link that is up (sysfs `speed`, in Mbit/s;
    -1 or unreadable when the driver does not know it: such links are left out)."""
    out: dict[str, dict[str, Any]] = {}
    for name, attrs in sorted(_entries(tree).items()):
        raw = attrs.get("speed", "").strip()
        if not raw.lstrip("-").isdigit() or int(raw) <= 0:
            continue
        mbps = int(raw)
        bits = mbps * 1_000_000
        out[name] = {"speed": speed_text(mbps), "sendSpeed": bits, "recvSpeed": bits}
    return out


def net_dev(text: str) -> dict[str, dict[str, int]]:
    """By interface: /proc/net/dev's counters (bytes, packets, errors, drops, FIFO)."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        columns = rest.split()
        if not sep or len(columns) < 16 or not all(c.isdigit() for c in columns):
            continue
        recv, sent = columns[:5], columns[8:13]
        counters = dict(zip(NET_DEV_FIELDS[0], map(int, recv), strict=True))
        counters.update(zip(NET_DEV_FIELDS[1], map(int, sent), strict=True))
        out[name.strip()] = counters
    return out


def power_inputs(tree: Tree) -> dict[str, int] | None:
    """vin1State/vin2State (1 online) from the first two mains supplies, in name order;
    None unless the hardware reports two: one input is no redundant power."""
    mains = [
        attrs
        for _, attrs in sorted(_entries(tree).items())
        if attrs.get("type") == "Mains" and attrs.get("online") in ("0", "1")
    ]
    if len(mains) < 2:
        return None
    return {"vin1State": int(mains[0]["online"]), "vin2State": int(mains[1]["online"])}


def displays(tree: Tree) -> int:
    """Connected display connectors (/sys/class/drm/cardN-CONNECTOR/status)."""
    return sum(
        1
        for name, attrs in _entries(tree).items()
        if "-" in name and attrs.get("status") == "connected"
    )


PCI_CLASSES = {
    "01": "Mass storage controller",
    "02": "Network controller",
    "03": "Display controller",
    "04": "Multimedia controller",
    "05": "Memory controller",
    "06": "Bridge",
    "07": "Communication controller",
    "08": "System peripheral",
    "09": "Input device controller",
    "0c": "Serial bus controller",
    "0d": "Wireless controller",
}
"""PCI base classes (the PCI SIG's list) by their two hex digits."""


def pci_devices(tree: Tree) -> list[dict[str, str]]:
    """The portal's devmgr rows of PCI devices: `driver` in the tree is the name of the
    bound driver (a sysfs link); a device without one is stopped."""
    out = []
    for slot, attrs in sorted(_entries(tree).items()):
        code = attrs.get("class", "").lower().removeprefix("0x")
        vendor = attrs.get("vendor", "").lower().removeprefix("0x").upper()
        device = attrs.get("device", "").lower().removeprefix("0x").upper()
        if not code or not vendor:
            continue
        driver = attrs.get("driver", "")
        name = PCI_CLASSES.get(code[:2], f"PCI device of class {code}")
        out.append(
            {
                "class": "PCI",
                "instancePath": f"PCI\\VEN_{vendor}&DEV_{device}\\{slot}",
                "name": f"{name}: {driver}" if driver else name,
                "vendorID": vendor,
                "deviceID": device,
                "status": "running" if driver else "stopped",
            }
        )
    return out
