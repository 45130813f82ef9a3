"""update area: apt's periodic and unattended-upgrades settings, plus the apt-daily timer
for `autoScan`. Our settings go in apt.conf.d/99reconciler, which sorts after Debian's
20auto-upgrades and 50unattended-upgrades and the usual local override (99local), so it
wins; a file that sorts later and sets the same keys wins instead, and the apply says
which file that is rather than failing to verify."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after, touched
from reconciler.drivers.linux.facts import config
from reconciler.drivers.linux.files import MANAGED_HEADER, dropins
from reconciler.drivers.linux.host import Unavailable
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

APT_DIR = "/etc/apt/apt.conf.d"
APT_FILE = f"{APT_DIR}/99reconciler"
OLD_APT_FILE = f"{APT_DIR}/52reconciler"
"""Where earlier versions wrote (it lost to 99local); removed when ours is written."""
KEYS = (
    "APT::Periodic::Update-Package-Lists",
    "APT::Periodic::Unattended-Upgrade",
    "Unattended-Upgrade::Automatic-Reboot",
)
TIMER_DROPIN = "/etc/systemd/system/apt-daily.timer.d/50-reconciler.conf"
UNSUPPORTED = ("allowOverCellular", "snapshotBeforeUpdate", "rebootSchedule", "maintenanceWindow")
DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_LIST = r"\d{1,2}(?:,\d{1,2})*"
_CRON = re.compile(rf"^({_LIST}) ({_LIST}) \* \* (\*|[0-7](?:,[0-7])*)$")
_CALENDAR = re.compile(rf"^(?:([A-Za-z,]+) )?\*-\*-\* ({_LIST}):({_LIST}):00$")


def cron_to_calendar(cron: str) -> str:
    """`M H * * DOW` -> systemd OnCalendar; other cron forms are refused."""
    m = _CRON.match(" ".join(cron.split()))
    if m is None:
        raise DeviceError(
            f"autoScan {cron!r}: the linux backend takes 'MINUTE HOUR * * WEEKDAYS' "
            "(numbers or lists) for the apt-daily timer"
        )
    minute, hour, dow = m.groups()
    days = "" if dow == "*" else ",".join(DAYS[int(d) % 7] for d in dow.split(",")) + " "
    return f"{days}*-*-* {hour}:{minute}:00"


def calendar_to_cron(calendar: str) -> str | None:
    m = _CALENDAR.match(calendar.strip())
    if m is None:
        return None
    days, hour, minute = m.groups()
    dow = ",".join(str(DAYS.index(d)) for d in days.split(",")) if days else "*"
    return f"{minute} {hour} * * {dow}"


class UpdateDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def settings(self) -> dict[str, str]:
        if not self.host.exists(APT_DIR):
            raise Unavailable("no apt on this host (/etc/apt/apt.conf.d)")
        texts = [self.host.read(f"{APT_DIR}/{name}") or "" for name in self.host.listdir(APT_DIR)]
        return config.apt_conf(texts)

    def refuse_later_overrides(self) -> None:
        """apt reads apt.conf.d in name order, later files win: one after ours that sets our
        keys would undo the change, so say which instead of writing what cannot hold."""
        ours = APT_FILE.rsplit("/", 1)[1]
        for name in sorted(self.host.listdir(APT_DIR)):
            if name <= ours:
                continue
            later = config.apt_conf([self.host.read(f"{APT_DIR}/{name}") or ""])
            if set(later) & set(KEYS):
                keys = ", ".join(k for k in KEYS if k in later)
                raise DeviceError(
                    f"{APT_DIR}/{name} sets {keys} after {ours}, so it wins: "
                    "remove those lines there, or rename it to sort before ours"
                )

    def observe(self) -> dict[str, Any]:
        apt = self.settings()
        out: dict[str, Any] = {
            "allowUpdate": apt.get("APT::Periodic::Unattended-Upgrade", "0") not in ("0", ""),
            "allowReboot": apt.get("Unattended-Upgrade::Automatic-Reboot", "false") == "true",
        }
        if apt.get("APT::Periodic::Update-Package-Lists", "0") in ("0", ""):
            out["autoScan"] = False
        else:
            timer = config.merged_ini(dropins(self.host, "/etc/systemd/system/apt-daily.timer.d"))
            calendars = timer.get("Timer", {}).get("OnCalendar", [])
            cron = calendar_to_cron(calendars[-1]) if calendars else None
            if cron:
                out["autoScan"] = cron
        return out

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        for key in UNSUPPORTED:
            if touched(changes, key):
                raise DeviceError(f"the linux backend does not manage update.{key}")
        want = desired_after("update", self.observe(), changes)
        scan = want.get("autoScan")
        calendar = cron_to_calendar(scan) if isinstance(scan, str) else None
        if want.get("allowUpdate") and not self.host.exists("/usr/bin/unattended-upgrade"):
            raise DeviceError("allowUpdate needs the unattended-upgrades package")
        lines = [
            MANAGED_HEADER.replace("#", "//").rstrip(),
            f'APT::Periodic::Update-Package-Lists "{0 if scan is False else 1}";',
            f'APT::Periodic::Unattended-Upgrade "{1 if want.get("allowUpdate") else 0}";',
            "Unattended-Upgrade::Automatic-Reboot "
            f'"{"true" if want.get("allowReboot") else "false"}";',
        ]
        self.refuse_later_overrides()
        self.host.write(APT_FILE, "\n".join(lines) + "\n")
        self.host.remove(OLD_APT_FILE)
        if calendar:
            self.host.write(
                TIMER_DROPIN,
                f"{MANAGED_HEADER}[Timer]\nOnCalendar=\nOnCalendar={calendar}\n"
                "RandomizedDelaySec=0\n",
            )
        elif touched(changes, "autoScan"):
            self.host.remove(TIMER_DROPIN)
        if self.host.systemd_running():
            self.host.run(["systemctl", "daemon-reload"])
