"""Log retention: the gateway's system log and audit log settings (gateway doc: PUT
/system/log and the audit service's "Set audit configuration")."""

from typing import Literal

from pydantic import Field

from reconciler.spec.base import SpecModel


class SystemLogSpec(SpecModel):
    """System log retention. On linux it is journald's (a drop-in in
    /etc/systemd/journald.conf.d): SystemMaxUse and MaxRetentionSec."""

    desired_disk_cache_size_mb: int | None = Field(
        default=None, ge=1, le=4096, alias="desiredDiskCacheSizeMB"
    )
    """Most space the log may take, 1..4096 MB (the doc: at most half of the system log
    storage when the target disk is "System"). linux: journald's SystemMaxUse."""
    enable_time_to_live: bool | None = None
    """Delete entries older than timeToLiveDay. linux: MaxRetentionSec (0 when off)."""
    time_to_live_day: int | None = Field(default=None, ge=1, le=30)
    """Days to keep log entries, 1..30 (used when enableTimeToLive). linux: whole days
    of MaxRetentionSec, remembered by the agent while the time to live is off."""
    target_disk_name: str | None = Field(default=None, min_length=1, max_length=4096)
    """Storage disk the log is written to ("System" or a named disk, at most 4096
    characters). linux: journald writes to the system disk only, so only "System"."""


class AuditLogSpec(SpecModel):
    """Audit log retention (the gateway's audit service)."""

    desired_disk_cache_size_mb: int | None = Field(
        default=None, ge=10, alias="desiredDiskCacheSizeMB"
    )
    """Most space the audit log may take, at least 10 MB (device default 100; the doc
    limits it to half of the system log storage)."""
    enable_time_to_live: bool | None = None
    """Delete audit entries older than timeToLiveDay (device default false)."""
    reach_threshold_policy: Literal["rotate"] | None = None
    """What happens when the log reaches its size: rotate (the doc's only value)."""
    time_to_live_day: int | None = Field(default=None, ge=1)
    """Days audit entries live when enableTimeToLive, at least 1 (device default 7)."""
    alert_threshold: int | None = Field(default=None, ge=50, le=95)
    """Percentage of the audit log storage at which a notification is issued, 50..95
    (device default 80)."""
