"""Pure parsers of raw host input (file text, sysfs trees, command JSON), one per fact.

FACTS names each parser for the golden-file tests in tests/facts/<Fact>/<case>.json, which
hold the raw input captured from a real host and the expected parse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.drivers.linux.facts import (
    accounts,
    config,
    hardware,
    iproute,
    iwscan,
    nft,
    procfs,
    retention,
    serialline,
    smart,
    sysfs,
    systemd,
)

FACTS: dict[str, Callable[..., Any]] = {
    "Meminfo": procfs.meminfo,
    "ProcStat": procfs.proc_stat,
    "Loadavg": procfs.loadavg,
    "Mounts": procfs.mounts,
    "PidStat": procfs.pid_stat,
    "Passwd": accounts.passwd,
    "Group": accounts.group,
    "Shadow": accounts.shadow,
    "LoginDefs": accounts.login_defs,
    "AuthorizedKeys": accounts.authorized_keys,
    "ResolvConf": config.resolv_conf,
    "OsRelease": config.env_file,
    "SystemdIni": config.merged_ini,
    "SshdConfig": config.sshd_config,
    "AptConf": config.apt_conf,
    "Pwquality": config.key_values,
    "IpAddr": iproute.addresses,
    "IpRoute": iproute.default_routes,
    "NftRuleset": nft.reconciler_table,
    "Hwmon": sysfs.hwmon,
    "Leds": sysfs.leds,
    "Watchdog": sysfs.watchdogs,
    "GpioSysfs": sysfs.gpio_sysfs,
    "SerialPorts": sysfs.serial_ports,
    "Termios": serialline.settings,
    "SystemdUnits": systemd.units,
    "SystemdUnitFiles": systemd.unit_files,
    "Smartctl": smart.smart,
    "LinkSpeed": hardware.link_speeds,
    "NetDev": hardware.net_dev,
    "PowerSupply": hardware.power_inputs,
    "DrmConnectors": hardware.displays,
    "PciDevices": hardware.pci_devices,
    "IwScanDump": iwscan.scan_dump,
    "Journald": retention.journald,
    "GpsdDefaults": retention.gpsd_defaults,
}
