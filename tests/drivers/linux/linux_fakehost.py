"""A fake Debian gateway for driver tests: a root tree in a temp dir (/etc, /proc, /sys)
and a command handler that plays the host's tools. Account tools run for real against the
tree (shadow-utils' --prefix); the kernel's reactions (watchdog, GPIO, hostname) are
emulated where a test needs the driver to see its own change."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.facts import config
from reconciler.drivers.linux.runner import Completed, FakeRunner

FACTS = Path(__file__).resolve().parents[2] / "facts"
TOOLS = (
    "ip",
    "nft",
    "systemctl",
    "hostname",
    "sysctl",
    "smartctl",
    "useradd",
    "usermod",
    "userdel",
    "groupadd",
    "groupdel",
    "networkctl",
)
ACCOUNT_TOOLS = ("useradd", "usermod", "userdel", "groupadd", "groupdel")
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl op@x"


def fact_input(fact: str, case: str) -> Any:
    data = json.loads((FACTS / fact / f"{case}.json").read_text())
    return data["input"] if "input" in data else data["args"][0]


ETC = {
    "/etc/hostname": "gw-01\n",
    "/etc/hosts": "127.0.0.1\tlocalhost\n127.0.1.1\tgw-01\n",
    "/etc/machine-info": 'PRETTY_HOSTNAME="Line 7 gateway"\n',
    "/etc/timezone": "Etc/UTC\n",
    "/usr/share/zoneinfo/Etc/UTC": "TZif2",
    "/usr/share/zoneinfo/Europe/Berlin": "TZif2",
    "/etc/systemd/timesyncd.conf": "[Time]\nNTP=0.debian.pool.ntp.org\n",
    "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
    "/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "ops:x:1000:1000:Operator,,,:/home/ops:/bin/bash\n",
    "/etc/group": "root:x:0:\nsudo:x:27:ops\ndialout:x:20:ops\nops:x:1000:\n",
    "/etc/shadow": "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
    "nobody:*:19000:0:99999:7:::\nops:$6$salt$hash:19000:0:99999:7:::\n",
    "/etc/gshadow": "root:*::\nsudo:*::ops\ndialout:*::ops\nops:!::\n",
    "/etc/login.defs": "UID_MIN 1000\nUID_MAX 60000\n",
    "/home/ops/.ssh/authorized_keys": ED25519 + "\n",
    "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n",
    "/etc/security/pwquality.conf": "# minlen = 8\n",
    "/etc/resolv.conf": "nameserver 10.0.0.53\nnameserver 1.1.1.1\nsearch plant-a.example\n",
    "/etc/apt/apt.conf.d/20auto-upgrades": 'APT::Periodic::Update-Package-Lists "1";\n'
    'APT::Periodic::Unattended-Upgrade "1";\n',
    "/usr/bin/unattended-upgrade": "#!/usr/bin/python3\n",
    "/etc/default/gpsd": fact_input("GpsdDefaults", "debian-bookworm"),
    "/proc/stat": "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n"
    "btime 1700000000\nprocesses 10\n",
    "/proc/meminfo": "MemTotal: 2048000 kB\nMemFree: 1024000 kB\nMemAvailable: 1536000 kB\n",
    "/proc/uptime": "1000.00 900.00\n",
    "/proc/loadavg": "0.10 0.20 0.30 1/100 42\n",
    "/proc/sys/kernel/hostname": "gw-01\n",
    "/proc/sys/kernel/osrelease": "6.1.0-18-amd64\n",
    "/proc/mounts": "/dev/sda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n"
    "/dev/sda1 /srv/bind ext4 rw,relatime 0 0\n",  # a bind mount: the same partition
    "/srv/bind/.keep": "",
    "/proc/1/stat": "1 (systemd) S 0 1 1 0 -1 4194560 1 1 0 0 50 30 0 0 20 0 1 0 10 1 500 0",
    "/proc/1/status": "Name:\tsystemd\nUid:\t0\t0\t0\t0\n",
    "/proc/1/cmdline": "/sbin/init\0splash\0",
    "/sys/block/sda/size": "125045424",
    "/sys/block/sda/removable": "0",
    "/sys/block/sda/queue/rotational": "0",
    "/sys/block/sda/device/model": "SQF-S25M4-64G",
    "/sys/block/loop0/size": "0",
    "/sys/class/tty/ttyS0/type": "4",
    "/sys/class/tty/ttyS1/type": "0",
}
SYSFS = {
    "/sys/class/hwmon": ("Hwmon", "coretemp-nct6775"),
    "/sys/class/leds": ("Leds", "two-leds"),
    "/sys/class/watchdog": ("Watchdog", "itco"),
    "/sys/class/gpio": ("GpioSysfs", "exported"),
    "/sys/class/net": ("LinkSpeed", "two-veth"),
    "/sys/class/power_supply": ("PowerSupply", "two-inputs"),
    "/sys/class/drm": ("DrmConnectors", "two-ports"),
    "/sys/bus/pci/devices": ("PciDevices", "vm"),
}
READ_ONLY = {
    "ip": lambda a: a[1] == "-j" and not {"set", "add", "del", "flush", "replace"} & set(a),
    "nft": lambda a: "list" in a and "-f" not in a,
    "systemctl": lambda a: a[1] in ("list-units", "list-unit-files", "is-active", "show"),
    "smartctl": lambda a: "-a" in a,
}


class FakeMachine:
    def __init__(self, root: Path, sysfs: bool = True, systemd: bool = True) -> None:
        self.root = root
        for path, text in ETC.items():
            self.write(path, text)
        self.link("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
        if sysfs:
            for base, (fact, case) in SYSFS.items():
                for rel, text in fact_input(fact, case).items():
                    if rel.endswith("/driver"):  # sysfs links a device to its driver
                        self.link(f"{base}/{rel}", f"/sys/bus/pci/drivers/{text}")
                    else:
                        self.write(f"{base}/{rel}", text)
            self.write("/proc/net/dev", fact_input("NetDev", "two-veth"))
        if systemd:
            (root / "run/systemd/system").mkdir(parents=True)
        self.units: dict[str, dict[str, Any]] = {
            "ssh": {
                "active": "active",
                "enabled": "enabled",
                "description": "OpenBSD Secure Shell",
            },
            "cron": {"active": "active", "enabled": "enabled", "description": "cron"},
            "rsync": {"active": "inactive", "enabled": "disabled", "description": "rsync"},
        }
        self.links = fact_input("IpAddr", "two-veth")
        self.routes = fact_input("IpRoute", "two-defaults")
        self.ruleset: dict[str, Any] = fact_input("NftRuleset", "no-table")
        self.fail: set[str] = set()

    def path(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def write(self, path: str, text: str) -> None:
        p = self.path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def read(self, path: str) -> str:
        return self.path(path).read_text()

    def link(self, path: str, target: str) -> None:
        p = self.path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.unlink(missing_ok=True)
        os.symlink(target, p)

    def runner(self, read_only: bool = False) -> FakeRunner:
        return FakeRunner(self.read_only if read_only else self.handle, tools=TOOLS)

    def read_only(self, argv: tuple[str, ...], stdin: str | None) -> Completed | str:
        allowed = READ_ONLY.get(argv[0])
        if allowed is None or not allowed(argv):
            raise AssertionError(f"observe ran a mutating command: {' '.join(argv)}")
        return self.handle(argv, stdin)

    def handle(self, argv: tuple[str, ...], stdin: str | None) -> Completed | str:
        tool = argv[0]
        if tool in self.fail:
            return Completed(argv, 1, "", f"{tool}: simulated failure")
        if tool in ACCOUNT_TOOLS:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            return Completed(argv, proc.returncode, proc.stdout, proc.stderr)
        if tool == "ip" and "addr" in argv and "show" in argv:
            return json.dumps(self.links)
        if tool == "ip" and "route" in argv and "show" in argv:
            return json.dumps(self.routes)
        if tool == "nft" and argv[1:3] == ("-j", "list"):
            return json.dumps(self.ruleset)
        if tool == "nft" and "list" in argv:
            return Completed(argv, 1, "", "Error: No such file or directory")
        if tool == "systemctl":
            return self.systemctl(argv)
        if tool == "hostname":
            self.write("/proc/sys/kernel/hostname", argv[1] + "\n")
        if tool == "hostnamectl" and argv[1] == "set-hostname":  # as systemd-hostnamed does
            self.write("/etc/hostname", argv[-1] + "\n")
            self.write("/proc/sys/kernel/hostname", argv[-1] + "\n")
        if tool == "smartctl":
            return json.dumps(fact_input("Smartctl", "sata-ssd"))
        return ""

    def systemctl(self, argv: tuple[str, ...]) -> Completed | str:
        verb = argv[1]
        if verb == "list-units":
            return json.dumps(
                [
                    {
                        "unit": f"{n}.service",
                        "load": "loaded",
                        "active": u["active"],
                        "sub": "running" if u["active"] == "active" else "dead",
                        "description": u["description"],
                    }
                    for n, u in self.units.items()
                ]
            )
        if verb == "list-unit-files":
            return json.dumps(
                [
                    {"unit_file": f"{n}.service", "state": u["enabled"]}
                    for n, u in self.units.items()
                ]
            )
        if verb == "is-active":
            return self.units.get(argv[2], {}).get("active", "inactive") + "\n"
        name = argv[-1].removesuffix(".service")
        if name not in self.units and self.path(f"/etc/systemd/system/{name}.service").exists():
            self.units[name] = {"active": "inactive", "enabled": "disabled", "description": name}
        if verb in ("start", "stop", "enable", "disable") and name not in self.units:
            return Completed(argv, 5, "", f"Unit {name}.service not found.")
        if verb == "start":
            self.units[name]["active"] = "active"
        elif verb == "stop":
            self.units[name]["active"] = "inactive"
        elif verb in ("enable", "disable"):
            self.units[name]["enabled"] = f"{verb}d"
        elif verb == "daemon-reexec":
            self.reexec()
        return ""

    def reexec(self) -> None:
        """systemd re-reads RuntimeWatchdogSec and (dis)arms the watchdog."""
        text = self.read("/etc/systemd/system.conf.d/50-reconciler-watchdog.conf")
        value = config.ini(text)["Manager"]["RuntimeWatchdogSec"][-1]
        base = "/sys/class/watchdog/watchdog0"
        if value == "off":
            self.write(f"{base}/state", "inactive")
        else:
            self.write(f"{base}/state", "active")
            self.write(f"{base}/timeout", value.removesuffix("s"))

    def kernel(self) -> None:
        """The GPIO sysfs reacts to direction writes as the kernel does."""
        base = self.path("/sys/class/gpio")
        for line in base.glob("gpio[0-9]*"):
            direction = (line / "direction").read_text().strip()
            if direction in ("high", "low"):
                (line / "direction").write_text("out")
                (line / "value").write_text("1" if direction == "high" else "0")
        export = base / "export"
        number = export.read_text().strip()
        if re.fullmatch(r"\d+", number) and not (base / f"gpio{number}").exists():
            (base / f"gpio{number}").mkdir()
            (base / f"gpio{number}" / "direction").write_text("in")
            (base / f"gpio{number}" / "value").write_text("0")
