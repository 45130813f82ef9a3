"""Readings of the host itself, through psutil, in the platform portal's shapes:
CPU info and per-CPU usage, memory, and the process list.

Backends report device configuration and hardware telemetry; the processes, CPUs and
memory the endpoint lists are the machine it runs on (the device itself in production).
Command lines are shown with password-like arguments replaced by `(sensitive)`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from reconciler.engine.change import SENSITIVE

CPUINFO = Path("/proc/cpuinfo")
_SECRET_WORD = r"pass(word|wd|phrase)?|secret|token|api[-_]?key|psk|credential|auth"
_SECRET_FLAG = re.compile(rf"^--?[\w.-]*({_SECRET_WORD})[\w.-]*$", re.IGNORECASE)
_SECRET_ASSIGN = re.compile(rf"^(--?[\w.-]*({_SECRET_WORD})[\w.-]*=)(.+)$", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def _number(text: str) -> float | int | None:
    match = re.match(r"^\s*([0-9.]+)", text)
    if not match:
        return None
    number = float(match.group(1))
    return int(number) if number.is_integer() else number


def cpu_info(path: Path = CPUINFO) -> dict[str, Any]:
    """The first CPU's /proc/cpuinfo entry in the portal's `cpu.info` shape."""
    fields: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        text = ""
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return {
        "cpu": int(fields.get("processor", "0") or 0),
        "vendorId": fields.get("vendor_id", ""),
        "family": fields.get("cpu family", ""),
        "model": fields.get("model", ""),
        "stepping": int(_number(fields.get("stepping", "0")) or 0),
        "physicalId": fields.get("physical id", "0"),
        "coreId": fields.get("core id", "0"),
        "cores": int(_number(fields.get("cpu cores", "1")) or 1),
        "modelName": fields.get("model name", ""),
        "mhz": _number(fields.get("cpu MHz", "0")) or 0,
        "cacheSize": int(_number(fields.get("cache size", "0")) or 0),
        "flags": fields.get("flags", "").split(),
        "microcode": fields.get("microcode", ""),
    }


def cpu_usage() -> list[float]:
    """Per-CPU busy percent since the previous call (the first call reads 0)."""
    import psutil

    return [float(x) for x in psutil.cpu_percent(interval=None, percpu=True)]


def memory() -> dict[str, Any]:
    """Virtual memory in the portal's (gopsutil) field names."""
    import psutil

    vm = psutil.virtual_memory()._asdict()
    out: dict[str, Any] = {
        "total": vm["total"],
        "available": vm["available"],
        "used": vm["used"],
        "usedPercent": vm["percent"],
        "free": vm["free"],
    }
    for key in ("active", "inactive", "buffers", "cached", "shared", "slab", "wired"):
        if key in vm:
            out[key] = vm[key]
    return out


def redact_cmdline(args: list[str]) -> str:
    """The command line with values of password-like options replaced."""
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(SENSITIVE)
            hide_next = False
            continue
        assign = _SECRET_ASSIGN.match(arg)
        if assign:
            out.append(assign.group(1) + SENSITIVE)
            continue
        if _SECRET_FLAG.match(arg):
            hide_next = True
        out.append(_URL_PASSWORD.sub(rf"\g<1>{SENSITIVE}@", arg))
    return " ".join(out)


PROCESS_ATTRS = [
    "pid",
    "ppid",
    "name",
    "num_threads",
    "memory_info",
    "cpu_percent",
    "username",
    "create_time",
    "exe",
    "cmdline",
]


def processes() -> list[dict[str, Any]]:
    """Running processes in the portal's /platform/api/processes shape."""
    import psutil

    now = time.time()
    out: list[dict[str, Any]] = []
    for proc in psutil.process_iter(PROCESS_ATTRS):
        info = proc.info
        if info.get("pid") is None:
            continue
        mem = info.get("memory_info")
        entry: dict[str, Any] = {
            "pid": info["pid"],
            "ppid": info.get("ppid") or 0,
            "name": info.get("name") or "",
            "numThreads": info.get("num_threads") or 0,
            "memUsage": mem.rss if mem is not None else 0,
            "cpuPercent": float(info.get("cpu_percent") or 0.0),
            "username": info.get("username") or "",
            "elapsedTime": max(0, int(now - (info.get("create_time") or now))),
        }
        if info.get("exe"):
            entry["path"] = info["exe"]
        if info.get("cmdline"):
            entry["cmdline"] = redact_cmdline(list(info["cmdline"]))
        out.append(entry)
    return out
