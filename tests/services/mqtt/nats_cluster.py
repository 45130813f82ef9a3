"""A 3-node NATS cluster on loopback ports: JetStream with MQTT enabled on every node and
the MQTT streams replicated 3 times, so the retained messages survive one node."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mqtt_broker import LOOPBACK, free_port, wait_until

NATS_SERVER = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
)
NO_NATS = "needs nats-server (Debian: apt-get install nats-server)"


@dataclass
class NatsNode:
    name: str
    root: Path
    client_port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    host: str = LOOPBACK
    """Where it listens (what a Broker's `host` is to the MQTT helpers)."""

    @property
    def port(self) -> int:
        """The MQTT port (what a Broker's `port` is to the MQTT helpers)."""
        return self.mqtt_port

    def client_tls(self) -> None:
        """Plain MQTT (what the recording Collector asks a broker)."""
        return None

    def write_config(self, peers: list[NatsNode]) -> Path:
        routes = ", ".join(f"nats-route://{LOOPBACK}:{p.cluster_port}" for p in peers)
        config = self.root / f"{self.name}.conf"
        config.write_text(
            f"server_name: {self.name}\n"
            f"listen: {LOOPBACK}:{self.client_port}\n"
            f"jetstream {{ store_dir: {self.root / self.name}, max_memory_store: 64MB, "
            "max_file_store: 256MB }\n"
            f"cluster {{ name: fleet-test, listen: {LOOPBACK}:{self.cluster_port}, "
            f"routes: [{routes}] }}\n"
            f"mqtt {{ listen: {LOOPBACK}:{self.mqtt_port}, stream_replicas: 3 }}\n"
        )
        return config

    def start(self, peers: list[NatsNode]) -> None:
        assert NATS_SERVER is not None, NO_NATS
        config = self.write_config(peers)
        log = (self.root / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(config)], stdout=log, stderr=log)

    def listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            log = (self.root / f"{self.name}.log").read_text()[-2000:]
            raise AssertionError(f"nats-server {self.name} exited: {log}")
        with socket.socket() as s:
            return s.connect_ex((LOOPBACK, self.mqtt_port)) == 0

    def kill(self) -> None:
        """SIGKILL: the node vanishes without saying goodbye to its peers."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None


class NatsCluster:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.nodes = [NatsNode(f"n{i}", root) for i in (1, 2, 3)]

    def start(self) -> None:
        for node in self.nodes:
            node.start([p for p in self.nodes if p is not node])
        for node in self.nodes:
            # MQTT listens only once JetStream (with its meta leader) is up on the node
            wait_until(f"{node.name}'s MQTT port", node.listening, timeout=90)

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                node.proc.send_signal(signal.SIGTERM)
                try:
                    node.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    node.kill()
                node.proc = None
