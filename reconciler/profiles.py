"""Hardware profiles: what each device model has, so validation is capability-aware.

A profile is plain data. `UNO-2484G` is the box behind the platform portal reference
(EC watchdog 10..255 s, 8 GPIO, 8 LEDs, brightness 0..9, COM1..COM2, two power inputs,
an ETP EEPROM); `AIG-302` is the
industrial gateway reference (two Ethernet ports, Wi-Fi, cellular, two serial ports, DI/DO).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sensor:
    """A hardware-monitor reading the simulator produces around `nominal`."""

    kind: str  # temperature | voltage | current | fanspeed
    name: str
    nominal: float
    spread: float
    unit: str


@dataclass(frozen=True)
class RebootSchedule:
    """The reboot schedules a model's own scheduler takes (gateway doc: reboot cronSchedule,
    `^[0]{1}\\s[0-9]{1}\\s[*]{1}\\s[*]{1}\\s[0-6,]...`): cron at these minutes and hours,
    any day of the month, on listed weekdays."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    rule: str
    """The limit in words, for errors."""


@dataclass(frozen=True)
class HardwareProfile:
    model: str
    description: str
    ethernet: tuple[str, ...]
    wifi: tuple[str, ...] = ()
    cellular: tuple[str, ...] = ()
    watchdog_type: str | None = None
    watchdog_min: int = 1
    watchdog_max: int = 255
    gpio_pins: int = 0
    leds: int = 0
    brightness: tuple[int, int] | None = None
    serial_ports: tuple[int, ...] = ()
    digital_inputs: int = 0
    digital_outputs: int = 0
    sensors: tuple[Sensor, ...] = field(default_factory=tuple)
    default_hostname: str = "gateway"
    admin_user: str = "admin"
    reboot_schedule: RebootSchedule | None = None
    """None: any 5-field cron."""
    redundant_power: bool = False
    """Two power inputs whose state the hardware reports (portal perif/redundant_power)."""
    etp: bool = False
    """An ETP EEPROM (device data, two user spaces, a lock: the portal's etp reads)."""
    gps: bool = False
    """A GPS receiver (gateway doc: the gps group)."""
    bios_setting: bool = False
    """BIOS configuration can be switched on and off (gateway doc: bios)."""
    openvpn_profiles: int = 0
    """OpenVPN client profiles the unit holds (gateway doc: one imported profile)."""
    edge_apps: bool = False
    """Runs the gateway's app platform: edge functions, Azure IoT Edge, service accounts."""

    @property
    def interfaces(self) -> tuple[str, ...]:
        return (*self.ethernet, *self.wifi, *self.cellular)

    def has_watchdog(self) -> bool:
        return self.watchdog_type is not None


PROFILES: dict[str, HardwareProfile] = {
    p.model: p
    for p in (
        HardwareProfile(
            model="UNO-2484G",
            description="Fanless edge computer (platform portal reference)",
            ethernet=("eth0", "eth1", "eth2", "eth3"),
            wifi=("wlan0",),
            watchdog_type="EC",
            watchdog_min=10,
            watchdog_max=255,
            gpio_pins=8,
            leds=8,
            brightness=(0, 9),
            serial_ports=(1, 2),
            sensors=(
                Sensor("temperature", "CPU", 48.0, 6.0, "Celsius"),
                Sensor("temperature", "System", 39.0, 3.0, "Celsius"),
                Sensor("voltage", "VCore", 0.92, 0.02, "Volt"),
                Sensor("voltage", "12V", 11.86, 0.08, "Volt"),
                Sensor("voltage", "5V Standby", 4.95, 0.03, "Volt"),
                Sensor("voltage", "CMOS Battery", 3.05, 0.02, "Volt"),
                Sensor("current", "OEM0", 0.54, 0.05, "A"),
                Sensor("fanspeed", "FAN0", 1234.0, 60.0, "RPM"),
            ),
            default_hostname="uno-2484g",
            admin_user="admin",
            redundant_power=True,
            etp=True,
            openvpn_profiles=8,
        ),
        HardwareProfile(
            model="AIG-302",
            description="Industrial IoT gateway (gateway reference)",
            ethernet=("eth0", "eth1"),
            wifi=("wlan0",),
            cellular=("wwan0",),
            watchdog_type="SoC",
            watchdog_min=1,
            watchdog_max=60,
            serial_ports=(1, 2),
            digital_inputs=2,
            digital_outputs=2,
            sensors=(
                Sensor("temperature", "CPU", 52.0, 5.0, "Celsius"),
                Sensor("voltage", "VIN", 24.1, 0.2, "Volt"),
            ),
            default_hostname="moxa",
            admin_user="admin",
            reboot_schedule=RebootSchedule(
                minutes=(0,),
                hours=tuple(range(10)),
                rule="minute 0 of one hour 0..9, every day of the month, on listed weekdays "
                "0..6 ('0 H * * D,D,...')",
            ),
            gps=True,
            bios_setting=True,
            openvpn_profiles=1,
            edge_apps=True,
        ),
    )
}


def get_profile(model: str) -> HardwareProfile:
    """The profile for `model`; KeyError carries a message listing the known models."""
    try:
        return PROFILES[model]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise KeyError(f"unknown model {model!r}; known models: {known}") from None
