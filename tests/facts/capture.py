"""Capture golden fact cases from this machine (run by hand as root; review the diff).

    .venv/bin/python tests/facts/capture.py

Each case is tests/facts/<Fact>/<case>.json: the raw input as read from the host and the
parse the current code gives for it. Network input comes from namespaces this script
creates and deletes; nothing else on the machine is changed.
"""

from __future__ import annotations

import json
import os
import pty
import sys
import termios
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "drivers" / "linux"))

from linux_netns import lab, sh  # noqa: E402

from reconciler.drivers.linux.facts import FACTS  # noqa: E402
from reconciler.drivers.linux.firewall import render_table  # noqa: E402


def save(fact: str, case: str, source: str, raw: Any, args: list[Any] | None = None) -> None:
    parse = FACTS[fact]
    expected = parse(*args) if args is not None else parse(raw)
    body: dict[str, Any] = {"source": source}
    if args is not None:
        body["args"] = args
    else:
        body["input"] = raw
    body["expected"] = expected
    path = HERE / fact / f"{case}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(body, indent=1, sort_keys=False) + "\n")
    print(f"wrote {path.relative_to(HERE.parent.parent)}")


def files() -> None:
    for fact, case, path in (
        ("Passwd", "debian12", "/etc/passwd"),
        ("Group", "debian12", "/etc/group"),
        ("Shadow", "debian12", "/etc/shadow"),
        ("LoginDefs", "debian12", "/etc/login.defs"),
        ("ResolvConf", "debian12", "/etc/resolv.conf"),
        ("OsRelease", "debian12", "/etc/os-release"),
        ("Meminfo", "debian12", "/proc/meminfo"),
        ("ProcStat", "debian12", "/proc/stat"),
        ("Loadavg", "debian12", "/proc/loadavg"),
        ("Mounts", "debian12", "/proc/mounts"),
        ("PidStat", "init", "/proc/1/stat"),
    ):
        save(fact, case, f"{path} on a Debian 12 VM", Path(path).read_text())


def network() -> None:
    with lab() as net:
        dev, peer = net.ns("dev"), net.ns("peer")
        net.veth(dev, "eth0", "10.91.0.2/24", peer, "up0", "10.91.0.1/24")
        net.veth(dev, "eth1", "10.92.0.2/24", peer, "up1", "10.92.0.1/24")
        sh(
            "ip",
            "route",
            "add",
            "default",
            "via",
            "10.91.0.1",
            "dev",
            "eth0",
            "metric",
            "100",
            ns=dev,
        )
        sh(
            "ip",
            "route",
            "add",
            "default",
            "via",
            "10.92.0.1",
            "dev",
            "eth1",
            "metric",
            "200",
            ns=dev,
        )
        addr = json.loads(sh("ip", "-j", "-s", "addr", "show", ns=dev).stdout)
        save("IpAddr", "two-veth", "ip -j -s addr show in a namespace", addr)
        route = json.loads(sh("ip", "-j", "-4", "route", "show", "table", "main", ns=dev).stdout)
        save("IpRoute", "two-defaults", "ip -j -4 route show table main", route)
        want = {
            "inbound": [
                {"name": "ssh", "port": 22, "protocol": "tcp"},
                {"name": "modbus", "port": 502, "protocol": "tcp", "source": "10.0.0.0/8"},
                {
                    "name": "range",
                    "port": "8000-8010",
                    "protocol": "udp",
                    "source": "192.168.1.5/32",
                    "sourcePort": "1024-65535",
                },
            ],
            "forward": [
                {
                    "name": "plc-web",
                    "port": 8080,
                    "protocol": "tcp",
                    "toAddress": "192.168.1.10",
                    "toPort": 80,
                },
            ],
            "snat": True,
            "hostServices": [{"name": "ssh", "sources": ["10.0.0.0/8", "fd00::/8"]}],
        }
        script = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0;\n"
        script += "\t}\n}\n" + render_table("reconciler", want, {"ssh": 22})
        sh("sh", "-c", f"nft -f - <<'EOF'\n{script}EOF", ns=dev)
        ruleset = json.loads(sh("nft", "-j", "list", "ruleset", ns=dev).stdout)
        save(
            "NftRuleset",
            "full-table",
            "nft -j list ruleset after the reconciler's table",
            ruleset,
            args=[ruleset, "reconciler"],
        )
        empty = json.loads(sh("nft", "-j", "list", "ruleset", ns=peer).stdout)
        save(
            "NftRuleset",
            "no-table",
            "nft -j list ruleset of a fresh namespace",
            empty,
            args=[empty, "reconciler"],
        )


def serial() -> None:
    main, child = pty.openpty()
    attrs = termios.tcgetattr(child)
    save(
        "Termios",
        "pty-default",
        "tcgetattr of a fresh pty (no RS-485)",
        None,
        args=[list(attrs[:6]), None],
    )
    attrs[2] = (attrs[2] & ~termios.CSIZE) | termios.CS7 | termios.PARENB | termios.CSTOPB
    attrs[4] = attrs[5] = termios.B19200
    termios.tcsetattr(child, termios.TCSANOW, attrs)
    save(
        "Termios",
        "pty-7e2-rs485",
        "tcgetattr after 19200 7E2, RS-485 flags of a 2-wire port",
        None,
        args=[list(termios.tcgetattr(child)[:6]), 3],
    )
    os.close(main)
    os.close(child)
    tree = {}
    for name in sorted(os.listdir("/sys/class/tty")):
        if name.startswith("ttyS") and int(name[4:]) < 4:
            tree[f"{name}/type"] = Path(f"/sys/class/tty/{name}/type").read_text().strip()
    save("SerialPorts", "vm-ttyS", "/sys/class/tty/ttyS0..3/type on a VM", tree)


if __name__ == "__main__":
    files()
    network()
    serial()
