"""Whether an interrupted change reached the device is judged from the journaled (redacted)
plan and a fresh observe: these pin the rules, secrets included."""

from __future__ import annotations

from reconciler.engine.change import SENSITIVE, Item
from reconciler.engine.journal import parse_dotted, reached_device

OBSERVED = {
    "system": {"hostname": "press-line-07"},
    "access": {"users": [{"name": "ops", "roles": ["viewer"], "passwordHash": "$6$x"}]},
    "gpio": {"pins": {"0": {"direction": "output"}}},
}


def test_dotted_paths_parse_back_to_plan_paths() -> None:
    assert parse_dotted("access.users[ops].roles") == ("access", "users", Item("ops"), "roles")
    assert parse_dotted("gpio.pins.0.direction") == ("gpio", "pins", "0", "direction")


def test_values_the_device_reports_were_applied() -> None:
    assert reached_device(
        {"path": "system.hostname", "op": "replace", "after": "press-line-07"}, OBSERVED
    )
    assert not reached_device(
        {"path": "system.hostname", "op": "replace", "after": "other"}, OBSERVED
    )
    assert not reached_device(
        {"path": "gpio.pins.1.level", "op": "replace", "after": "high"}, OBSERVED
    )


def test_secrets_count_by_presence_and_removals_by_absence() -> None:
    user = {"name": "ops", "roles": ["viewer"], "password": SENSITIVE}
    assert reached_device({"path": "access.users[ops]", "op": "add", "after": user}, OBSERVED)
    assert not reached_device(
        {"path": "access.users[ops]", "op": "add", "after": {**user, "roles": ["admin"]}}, OBSERVED
    )
    assert reached_device({"path": "access.users[gone]", "op": "remove", "after": None}, OBSERVED)
    assert not reached_device(
        {"path": "access.users[ops]", "op": "remove", "after": None}, OBSERVED
    )
