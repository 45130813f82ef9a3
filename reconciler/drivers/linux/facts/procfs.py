"""Pure parsers for /proc files: memory, CPU times, load, uptime, mounts, processes."""

from __future__ import annotations

from typing import Any


def meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes by key (MemTotal, MemAvailable, ...)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            scale = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
            out[key.strip()] = int(parts[0]) * scale
    return out


def memory_usage(info: dict[str, int]) -> dict[str, Any]:
    total = info.get("MemTotal", 0)
    available = info.get("MemAvailable", info.get("MemFree", 0))
    used = max(total - available, 0)
    return {
        "totalBytes": total,
        "availableBytes": available,
        "usedBytes": used,
        "usedPercent": round(100 * used / total, 1) if total else 0.0,
        "swapTotalBytes": info.get("SwapTotal", 0),
        "swapFreeBytes": info.get("SwapFree", 0),
    }


def proc_stat(text: str) -> dict[str, Any]:
    """/proc/stat: total and per-CPU jiffies (busy, total), boot time, process counts."""
    cpus: dict[str, list[int]] = {}
    out: dict[str, Any] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0].startswith("cpu"):
            cpus[parts[0]] = [int(x) for x in parts[1:]]
        elif parts[0] in ("btime", "processes", "procs_running", "procs_blocked"):
            out[parts[0]] = int(parts[1])
    times = {}
    for name, values in cpus.items():
        total = sum(values[:8])  # guest time is already counted in user/nice
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        times[name] = {"busy": total - idle, "total": total}
    out["cpu"] = times.get("cpu", {"busy": 0, "total": 0})
    out["cpuCount"] = sum(1 for name in cpus if name != "cpu")
    return out


def cpu_percent(before: dict[str, int], after: dict[str, int]) -> float:
    """Busy share of the jiffies between two proc_stat()['cpu'] samples."""
    total = after["total"] - before["total"]
    if total <= 0:
        return 0.0
    return round(100 * (after["busy"] - before["busy"]) / total, 1)


def loadavg(text: str) -> list[float]:
    return [float(x) for x in text.split()[:3]]


def uptime(text: str) -> float:
    return float(text.split()[0])


def mounts(text: str) -> list[dict[str, Any]]:
    """/proc/mounts lines as device, mount point, type and read-only flag (octal escapes
    in paths decoded)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        out.append(
            {
                "device": _unescape(parts[0]),
                "mountPoint": _unescape(parts[1]),
                "fsType": parts[2],
                "readOnly": "ro" in parts[3].split(","),
            }
        )
    return out


def _unescape(value: str) -> str:
    return value.encode().decode("unicode_escape") if "\\" in value else value


def pid_stat(text: str) -> dict[str, Any]:
    """/proc/PID/stat: the name may hold spaces and parentheses, so split at the last ')'."""
    head, _, tail = text.rpartition(")")
    pid, _, name = head.partition(" (")
    f = tail.split()
    return {
        "pid": int(pid),
        "name": name,
        "state": f[0],
        "ppid": int(f[1]),
        "utime": int(f[11]),
        "stime": int(f[12]),
        "numThreads": int(f[17]),
        "starttime": int(f[19]),
        "rssPages": int(f[21]),
    }


def status_uid(text: str) -> int | None:
    """The real uid from /proc/PID/status."""
    for line in text.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return None
