"""Rollout waves, all real: a mosquitto on loopback, a bare Git repo holding a three-device
fleet whose fleet.yaml defines two waves (canary, then site-a), and three `reconcile agent`
processes on the sim backend, one per device, that decide from each other's retained
statuses and the fleet's decisions (`reconcile fleet promote|pause|resume`).

Every wait is on a condition (a device's sim state, a retained status); the timeouts are a
last guard for a loaded machine, never a pacing.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from agent_kit import HOUR, bare_and_clone, git
from mqtt_broker import Broker, Collector, Received, wait_until
from testkit import reconcile_cmd, subprocess_env

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git (Debian: git)")

PREFIX = "waves"
CANARY, SECOND = "can-1", ("a-1", "a-2")
LABELS = {"can-1": "{ring: canary, site: a}", "a-1": "{site: a}", "a-2": "{site: a}"}
SLOW = 120.0
"""The last guard: three agents, a broker and git on a loaded 2-core machine."""


def fleet_yaml(port: int, description: str) -> str:
    return f"""\
apiVersion: reconciler/v1
kind: Fleet
spec:
  system: {{timezone: UTC, description: {description}}}
  cloud:
    mqtt:
      host: 127.0.0.1
      port: {port}
      tls: false
      topicPrefix: {PREFIX}
      keepAliveSec: 10
      reportIntervalSec: 0
      storeAndForward: {{enable: true, sendDelayMs: 10}}
  rollout:
    waves:
      - {{name: canary, selector: {{ring: canary}}, minHealthy: 1.0}}
      - {{name: site-a, selector: {{site: a}}, minHealthy: 1.0}}
    offlineAfter: 1s
    abortOnFailed: 0.0
"""


class Repo:
    """A bare 'remote' and a clone that commits fleet.yaml (one description for all)."""

    def __init__(self, root: Path, port: int) -> None:
        self.port = port
        self.remote, self.work = bare_and_clone(root)
        for name, labels in LABELS.items():
            (self.work / "devices" / f"{name}.yaml").write_text(
                "apiVersion: reconciler/v1\nkind: Device\n"
                f"metadata: {{name: {name}, model: UNO-2484G, labels: {labels}}}\n"
            )

    def commit(self, description: str) -> str:
        (self.work / "fleet.yaml").write_text(fleet_yaml(self.port, description))
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--no-gpg-sign", "-m", description)
        return git(self.work, "rev-parse", "HEAD")

    def push(self) -> None:
        git(self.work, "push", "--quiet", "origin", "main")


class Agent:
    """`reconcile agent` for one device on the sim backend, its output in a log file."""

    def __init__(self, root: Path, name: str, repo: Repo) -> None:
        self.name, self.repo = name, repo
        self.state = root / name
        self.log = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(self) -> None:
        self._out = self.log.open("ab")
        command = [
            *reconcile_cmd(),
            "agent",
            "--source",
            f"file://{self.repo.remote}",
            "--device",
            self.name,
            "--state-dir",
            str(self.state),
            "--interval",
            "1",
            "--drift-interval",
            HOUR,
        ]
        self.proc = subprocess.Popen(
            command, env=subprocess_env(), stdout=self._out, stderr=subprocess.STDOUT
        )

    def end(self, sig: signal.Signals = signal.SIGTERM) -> None:
        assert self.proc is not None and self._out is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self.proc = None

    def description(self) -> str | None:
        try:
            device = json.loads((self.state / "sim" / "device.json").read_text())
            return str(device["state"]["system"]["description"])
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def fault(self, mode: str) -> None:
        run([*reconcile_cmd(), "sim", "fault", "system", mode, "--state-dir", str(self.state)])


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        command, env=subprocess_env(), capture_output=True, text=True, timeout=SLOW
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc


class Lab:
    def __init__(self, broker: Broker, repo: Repo, agents: dict[str, Agent], seen: Collector):
        self.broker, self.repo, self.agents, self.seen = broker, repo, agents, seen

    def decide(self, action: str, commit: str) -> None:
        url = f"mqtt://127.0.0.1:{self.broker.port}"
        proc = run([*reconcile_cmd(), "fleet", action, commit, "--broker", url, "--prefix", PREFIX])
        assert proc.returncode == 0, proc.stderr
        assert f"{PREFIX}/fleet/rollout/{commit}" in proc.stdout

    def fleet_status(self) -> dict[str, dict[str, Any]]:
        """Rows by name, each with the reason the rollout holds it (`held`, or None)."""
        url = f"mqtt://127.0.0.1:{self.broker.port}"
        command = ["fleet", "status", str(self.repo.work), "--broker", url, "--prefix", PREFIX]
        out = json.loads(run([*reconcile_cmd(), *command, "--json"]).stdout)
        held = {h["name"]: h["reason"] for h in out["held"]}
        return {row["name"]: {**row, "held": held.get(row["name"])} for row in out["devices"]}

    def applied(self, names: tuple[str, ...], description: str) -> bool:
        return all(self.agents[n].description() == description for n in names)

    def wait_applied(self, names: tuple[str, ...], description: str) -> None:
        def done() -> bool:
            return self.applied(names, description)

        wait_until(f"{names} applying {description}", done, SLOW)

    def wait_held(self, name: str, words: str) -> Received:
        """A retained status of `name` saying the rollout holds it, the reason with `words`."""

        def held(m: Received) -> bool:
            data = m.data
            return m.topic == f"{PREFIX}/{name}/status" and any(
                w.get("path") == "rollout" and words in (w.get("reason") or "")
                for w in data.get("waiting") or []
            )

        return self.seen.wait_for(f"{name} held ({words})", held, SLOW)

    def wait_state(self, name: str, states: tuple[str, ...], commit: str) -> Received:
        def match(m: Received) -> bool:
            data = m.data
            return (
                m.topic == f"{PREFIX}/{name}/status"
                and data.get("syncState") in states
                and data.get("lastFetchedCommit") == commit
            )

        return self.seen.wait_for(f"{name} {states} on {commit[:12]}", match, SLOW)


@pytest.fixture
def lab(
    tmp_path: Path, new_broker: Callable[..., Broker], collect: Callable[..., Collector]
) -> Iterator[Lab]:
    broker = new_broker()
    repo = Repo(tmp_path / "git", broker.port)
    agents = {name: Agent(tmp_path, name, repo) for name in LABELS}
    yield Lab(broker, repo, agents, collect(broker, [f"{PREFIX}/+/status"]))
    for agent in agents.values():
        if agent.proc is not None:
            agent.end(signal.SIGKILL)
    for agent in agents.values():
        log = agent.log.read_text() if agent.log.exists() else ""
        assert "Traceback" not in log, log


def test_the_second_wave_waits_for_the_canary_and_a_failing_canary_stops_it(lab: Lab) -> None:
    first = lab.repo.commit("rev-A")
    lab.repo.push()
    for name in SECOND:  # the second wave first: nothing tells it the canary is done
        lab.agents[name].start()
    for name in SECOND:
        lab.wait_held(name, "wave canary: 0 of 1 device(s) Synced")
    assert lab.fleet_status()["a-1"]["held"].startswith("wave canary: 0 of 1")
    url = f"mqtt://127.0.0.1:{lab.broker.port}"
    status = ["fleet", "status", str(lab.repo.work), "--broker", url, "--prefix", PREFIX]
    table = run([*reconcile_cmd(), *status]).stdout
    assert "Held by the rollout waves (2):\n  a-1: wave canary: 0 of 1 device(s) Synced" in table
    assert not any(lab.agents[n].description() == "rev-A" for n in SECOND)

    lab.agents[CANARY].start()
    lab.wait_state(CANARY, ("Synced",), first)
    lab.wait_applied(SECOND, "rev-A")

    # a failing canary stops the second wave: it keeps enforcing rev-A and says why
    lab.agents[CANARY].fault("always")
    second = lab.repo.commit("rev-B")
    lab.repo.push()
    lab.wait_state(CANARY, ("Stalled",), second)  # failed twice: no retry until a new commit
    for name in SECOND:
        lab.wait_held(name, "wave canary aborted: 1 of 1 device(s) failed")

    def aborted() -> dict[str, dict[str, Any]] | None:
        rows = lab.fleet_status()
        held = [(rows[n]["held"] or "").startswith("wave canary aborted") for n in SECOND]
        return rows if all(held) else None

    rows = wait_until("fleet status showing the abort", aborted, SLOW)
    assert rows["a-2"]["syncState"] == "OutOfSync" and rows["a-2"]["lastAppliedCommit"] == first
    assert lab.applied(SECOND, "rev-A")

    # the fleet promotes it anyway: every wave takes it at once
    lab.decide("promote", second[:12])
    lab.wait_applied(SECOND, "rev-B")
    assert lab.agents[CANARY].description() == "rev-A"


def test_pause_resume_and_an_offline_canary(lab: Lab) -> None:
    first = lab.repo.commit("rev-A")
    lab.repo.push()
    for agent in lab.agents.values():
        agent.start()
    lab.wait_applied((CANARY, *SECOND), "rev-A")

    # paused before it is pushed: not even the canary takes it, until resumed
    paused = lab.repo.commit("rev-C")
    lab.decide("pause", paused)
    lab.repo.push()
    lab.wait_held(CANARY, f"commit {paused[:12]} is paused by the fleet")
    for name in SECOND:
        lab.wait_held(name, "paused by the fleet")
    assert lab.applied((CANARY, *SECOND), "rev-A")
    lab.decide("resume", paused)
    lab.wait_applied((CANARY, *SECOND), "rev-C")

    # the canary vanishes (the will says offline): past offlineAfter it does not block
    lab.agents[CANARY].end(signal.SIGKILL)
    lab.seen.wait_for(
        "the canary's will",
        lambda m: m.topic == f"{PREFIX}/{CANARY}/status" and m.data.get("online") is False,
        SLOW,
    )
    lab.repo.commit("rev-D")
    lab.repo.push()
    lab.wait_applied(SECOND, "rev-D")
    assert lab.agents[CANARY].description() == "rev-C"
    assert first != paused
