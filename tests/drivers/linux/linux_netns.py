"""Network namespaces with veth pairs for the linux driver tests (root only).

Every test gets fresh namespaces with unique names, deleted afterwards; nothing outside
them is touched. `namespaces_usable()` says why they cannot be used on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def sh(*argv: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "netns", "exec", ns] if ns else []
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, check=check)


def namespaces_usable() -> str | None:
    """None when namespaces work here, else the reason they do not."""
    if os.geteuid() != 0:
        return "network namespace tests need root (CI runs them as root)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make system-deps installs iproute2 and nftables)"
    name = f"rt-probe-{uuid.uuid4().hex[:6]}"
    made = sh("ip", "netns", "add", name, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    sh("ip", "netns", "del", name, check=False)
    return None


@dataclass
class Lab:
    """Namespaces created for one test; `veth(a, b, ...)` wires two of them."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    names: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def ns(self, role: str) -> str:
        name = f"rt-{role}-{self.tag}"
        sh("ip", "netns", "add", name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        self.names.append(name)
        return name

    def veth(
        self, ns_a: str, if_a: str, addr_a: str | None, ns_b: str, if_b: str, addr_b: str | None
    ) -> None:
        sh(
            "ip",
            "link",
            "add",
            if_a,
            "netns",
            ns_a,
            "type",
            "veth",
            "peer",
            "name",
            if_b,
            "netns",
            ns_b,
        )
        for ns, ifname, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
            if addr:
                sh("ip", "addr", "add", addr, "dev", ifname, ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)

    def serve(self, ns: str, host: str, port: int) -> None:
        """A TCP server in `ns` that accepts and closes connections (stops with the lab)."""
        code = (
            "import socket,sys\n"
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(({host!r},{port})); s.listen(16); s.settimeout(300)\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            "    c,_=s.accept(); c.close()\n"
        )
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", code], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        self.servers.append(proc)

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait()
        for name in self.names:
            sh("ip", "netns", "del", name, check=False)


def connects(ns: str, host: str, port: int, timeout: float = 1.0, source_port: int = 0) -> bool:
    """Whether a TCP connection from `ns` (from `source_port`, 0: any) to host:port succeeds."""
    code = (
        "import socket,sys\n"
        f"try: socket.create_connection(({host!r},{port}), timeout={timeout},"
        f" source_address=('', {source_port})).close()\n"
        "except OSError: sys.exit(1)\n"
    )
    return sh(sys.executable, "-c", code, ns=ns, check=False).returncode == 0


@contextmanager
def lab() -> Iterator[Lab]:
    current = Lab()
    try:
        yield current
    finally:
        current.close()
