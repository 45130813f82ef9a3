"""Reachability probe: can the device open TCP connections to `host:port` targets?

The linux backend runs it as `python -m reconciler.drivers.reach` through its runner, so it
probes from where the device's network is (this host, or a namespace in tests); the sim
backend calls `unreachable` from the host. Prints the
unreachable targets, one per line; exits 0 when every target answered.
"""

from __future__ import annotations

import argparse
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def split_target(target: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port`."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{target!r} is not host:port")
    return host.strip("[]"), int(port)


def reachable(target: str, timeout: float) -> bool:
    host, port = split_target(target)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unreachable(targets: list[str], timeout: float) -> list[str]:
    with ThreadPoolExecutor(max_workers=max(len(targets), 1)) as pool:
        results = list(pool.map(lambda t: reachable(t, timeout), targets))
    return [t for t, ok in zip(targets, results, strict=True) if not ok]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reach")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args(argv)
    lost = unreachable(args.targets, args.timeout)
    for target in lost:
        print(target)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
