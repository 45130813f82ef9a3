"""Maintenance windows: risky changes (reboot, disruptive) wait for the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def window_open(cron: str, duration_minutes: int, now: datetime) -> tuple[bool, datetime]:
    """(is a window open at `now`, when the current one closes or the next one opens)."""
    from croniter import croniter

    start = croniter(cron, now).get_prev(datetime)
    end = start + timedelta(minutes=duration_minutes)
    if start <= now < end:
        return True, end
    return False, croniter(cron, now).get_next(datetime)


def utcnow() -> datetime:
    return datetime.now(UTC)
