"""The simulated device keeps its state between changes, yet never writes back a state
another process has changed since (a Modbus write, `reconcile sim set`, another apply)."""

from __future__ import annotations

from pathlib import Path

from reconciler.drivers.sim.backend import SimBackend
from reconciler.engine.change import Change, Item


def _rule(name: str, port: int) -> Change:
    rule = {"name": name, "port": port, "protocol": "tcp"}
    return Change(("firewall", "inbound", Item(name)), "add", None, rule)


def test_a_change_by_another_process_survives_the_next_apply(tmp_path: Path) -> None:
    agent = SimBackend.open(tmp_path, "UNO-2484G")
    agent.driver("firewall").apply([_rule("a", 1)], lambda name: name)
    other = SimBackend.open(tmp_path, None)  # another process, same device
    other.set_out_of_band("system.hostname", "changed-elsewhere")
    other.driver("firewall").apply([_rule("b", 2)], lambda name: name)
    agent.driver("firewall").apply([_rule("c", 3)], lambda name: name)
    seen = SimBackend.open(tmp_path, None).observe()
    assert seen["system"]["hostname"] == "changed-elsewhere"
    assert [r["name"] for r in seen["firewall"]["inbound"]][-3:] == ["a", "b", "c"]


def test_an_ignored_or_refused_change_leaves_the_kept_state_as_it_was(tmp_path: Path) -> None:
    device = SimBackend.open(tmp_path, "UNO-2484G")
    device.driver("firewall").apply([_rule("a", 1)], lambda name: name)
    device.inject_fault("firewall", "ignore")
    device.driver("firewall").apply([_rule("b", 2)], lambda name: name)
    device.inject_fault("firewall", "clear")
    device.driver("firewall").apply([_rule("c", 3)], lambda name: name)
    names = [r["name"] for r in device.observe()["firewall"]["inbound"]]
    assert (
        names[-2:] == ["a", "c"] and "b" not in names
    )  # b was never taken, and did not sneak in with c
