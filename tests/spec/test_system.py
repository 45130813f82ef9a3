"""system: the gateway doc's host name and description limits, located in the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit import one_problem, validate

LONGEST = "press-line-07-" + "x" * 34 + ".plant-a.example"


@pytest.mark.parametrize("name", ["gw", "Press-Line-07", LONGEST, "a" * 63, "a1.b2.c3"])
def test_host_names_the_gateway_doc_allows(name: str) -> None:
    assert validate(f"system: {{hostname: {name}}}\n").problems == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (LONGEST + "x", "host name is 65 characters, longer than 64; did you mean 'press-line-07-"),
        ("a" * 64, f"invalid host name label '{'a' * 64}'"),
        ("7press", "starting with a letter and ending with a letter or digit"),
        ("press.7line", "invalid host name label '7line'"),
        ("press-", "invalid host name label 'press-'"),
        ("press_line.plant-a", "did you mean 'press-line.plant-a'?"),
        ("press..line", "invalid host name label ''"),
    ],
)
def test_host_names_past_the_docs_rule(name: str, fragment: str) -> None:
    result = one_problem(f"system: {{hostname: {name}}}\n")
    result.at(0, 5, name, "spec.system.hostname", fragment)


def test_description_up_to_512_characters() -> None:
    assert validate(f"system: {{description: {'d' * 512}}}\n").problems == []
    result = one_problem(f"system: {{description: {'d' * 513}}}\n")
    result.at(0, 5, "d" * 513, "spec.system.description", "at most 512 characters")


def test_description_is_one_line() -> None:
    result = one_problem('system: {description: "line 7\\nsecond line"}\n')
    result.at(0, 5, '"line 7', "spec.system.description", "one line of text")


def test_a_time_zone_is_known_exactly_when_the_machine_lists_it() -> None:
    """One zone file read per name, yet the same answer as zoneinfo's full listing: every
    listed name passes; directories, data files and the posix/right trees do not."""
    from zoneinfo import available_timezones

    from reconciler.spec.system import _listed_zone

    listed = available_timezones()
    assert listed and all(_listed_zone(name) for name in listed)
    unlisted = ["Europe", "Europe/", "zone.tab", "tzdata.zi", "posixrules", "right/UTC",
                "posix/Europe/Berlin", "../etc/passwd", "/etc/localtime", "europe/berlin",
                "Europe/Berlin ", "Europe//Berlin", "./Europe/Berlin", ""]  # fmt: skip
    assert [n for n in unlisted if _listed_zone(n)] == []


def test_a_damaged_zone_file_is_no_known_zone(tmp_path: Path) -> None:
    """A zone file cut short is refused as unknown, not a crash inside validation."""
    import zoneinfo

    from reconciler.spec.system import _listed_zone

    (tmp_path / "Plant").mkdir()
    (tmp_path / "Plant" / "Cut").write_bytes(b"TZif2\0")
    zoneinfo.reset_tzpath([str(tmp_path)])
    try:
        assert _listed_zone("Plant/Cut") is False
    finally:
        zoneinfo.reset_tzpath()
