"""The plain-cron shortcut never accepts what croniter refuses, and the spec still refuses
a bad expression with the same message."""

from __future__ import annotations

import itertools

import pytest
from croniter import croniter
from testkit import validate

from reconciler.spec.base import _plain_cron

PARTS = [
    "*",
    "*/1",
    "*/5",
    "*/7",
    "*/12",
    "*/59",
    "*/60",
    "*/0",
    "0",
    "00",
    "05",
    "1",
    "6",
    "7",
    "12",
    "13",
    "23",
    "24",
    "31",
    "32",
    "59",
    "60",
    "1-5",
    "5-1",
    "0-59",
    "1-31",
    "0-7",
    "1-12/2",
    "0-23/6",
    "5/15",
    "1,15",
    "1,2-4,*/10",
    "99",
    "-1",
    "1-",
    "",
    "*/",
    "1-2-3",
]


@pytest.mark.parametrize("field", range(5))
def test_plain_expressions_are_ones_croniter_accepts(field: int) -> None:
    base = ["0", "2", "1", "1", "0"]
    for part in PARTS:
        expr = " ".join([*base[:field], part, *base[field + 1 :]])
        if _plain_cron(expr):
            assert croniter.is_valid(expr), expr


def test_usual_expressions_take_the_shortcut() -> None:
    usual = ["0 2 * * 0", "*/15 * * * *", "30 1 1,15 * *", "0 22 * * 1-5", "0 0-6/2 * * *"]
    assert all(_plain_cron(e) for e in usual)
    for combo in itertools.product(["*", "0"], ["*", "3"], ["*", "1"], ["*", "6"], ["*", "0"]):
        assert croniter.is_valid(" ".join(combo)) and _plain_cron(" ".join(combo))


@pytest.mark.parametrize("cron", ["0 2 * * mon", "@daily", "0 2 * *", "61 2 * * *", "0 2 * * 8"])
def test_other_expressions_are_still_checked_by_croniter(cron: str) -> None:
    body = f"update:\n  maintenanceWindow: {{cron: '{cron}', durationMinutes: 60}}\n"
    problems = validate(body, model="UNO-2484G").problems
    if croniter.is_valid(cron) and len(cron.split()) == 5:
        assert problems == []
    else:
        assert [p.message for p in problems] == [f"{cron!r} is not a valid 5-field cron expression"]
