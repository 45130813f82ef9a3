"""The loader's fast path reads every text exactly as the located loader does.

A plan reads its spec through reconciler.fastyaml (libyaml in C, our YAML 1.2 resolver,
positions on demand); whatever it does not take, the located loader reads and reports.
These tests compare the two on every YAML file of the repository, on the invalid corpus
and on the scalars where YAML 1.1 and 1.2 differ, and check that a problem found in a
fast-read document is still located exactly."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from reconciler import fastyaml, loader

REPO = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(
    p
    for pattern in ("examples/**/*.yaml", "fleet/**/*.yaml", "tests/corpus/**/*.yaml")
    for p in REPO.glob(pattern)
)

SCALARS = [
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Yes",
    "ON",
    "0",
    "7",
    "-7",
    "+7",
    "007",
    "0o17",
    "0O17",
    "0x1F",
    "0X1f",
    "0b101",
    "1_000",
    "0_7",
    "08",
    "1__2",
    "-0o7",
    "+0x_1",
    "1.5",
    "1.",
    ".5",
    "-.5",
    "+.5",
    "1e3",
    "1E3",
    "1.0e+3",
    "1e-3",
    ".5e+1",
    ".5e1",
    "1_0.5",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "2024-01-31",
    "2024-1-3",
    "2024-01-31T12:00:00Z",
    "12:00:00.5",
    "+01:00",
    "12:30",
    "1:2:3",
    "=",
    "<<",
    "-",
    "+",
    ".",
    "0x",
    "0o",
    "0b",
    "_",
    "e3",
    "1e",
    "abc",
    "-abc",
    "1.2.3",
    "0.0.0.0/0",
    "::1",
]


def _same(a: Any, b: Any) -> bool:
    """Equal data of equal types all the way down (1 is not True, nan equals nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _both(text: str) -> tuple[list[Any] | None, list[Any] | str]:
    """(fast data or None when it declines, located data or the located error)."""
    try:
        located: list[Any] | str = [d.data for d in loader._located_documents(text, "t.yaml")]
    except loader.SpecError as exc:
        located = str(exc)
    try:
        nodes = fastyaml.compose(text)
        fast = [fastyaml.Plain(loader.MAX_NODES, loader.MAX_DEPTH).build(n) for n in nodes]
    except fastyaml.Unusual:
        fast = None
    return fast, located


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_repository_file_reads_the_same(path: Path) -> None:
    try:
        text = loader.decode(path.read_bytes(), str(path))
    except loader.SpecError:
        return  # not text: neither path reads it
    fast, located = _both(text)
    if isinstance(located, str):
        assert fast is None, f"the fast path took a text the located loader rejects: {located}"
    elif fast is not None:
        assert _same(fast, located)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_positions_of_a_fast_read_document_are_the_located_loaders(path: Path) -> None:
    """The fleet's provenance reads every position: worked out from the fast path's nodes,
    they are the located loader's, key and value, line and column."""
    try:
        text = loader.decode(path.read_bytes(), str(path))
        located = loader._located_documents(text, "t.yaml")
    except loader.SpecError:
        return
    fast = loader.parse_documents(text, "t.yaml")
    assert [dict(d.positions) for d in fast] == [d.positions for d in located]


@pytest.mark.parametrize("value", SCALARS)
def test_plain_scalars_resolve_as_yaml_1_2(value: str) -> None:
    for text in (
        f"plain: {value}\nquoted: '{value}'\nblock:\n  - {value}\n",
        f"flow: [{value}, '{value}']\n",
        f"{value}: key\n",
    ):
        fast, located = _both(text)
        if isinstance(located, str):
            assert fast is None, f"the fast path took a text the located loader rejects: {located}"
        elif fast is not None:
            assert _same(fast, located)


@pytest.mark.parametrize("value", ["yes", "no", "0o17", "017", "0x1f", "1e3", "~", "12:30"])
def test_common_scalars_take_the_fast_path(value: str) -> None:
    fast, located = _both(f"a: {value}\nb:\n  - {value}\n")
    assert fast is not None
    assert _same(fast, located)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key
        "0: x\n'0': y\n",  # one key once a model reads it
        "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n",  # merge key
        "a: !custom 1\n",  # unknown tag
        "%YAML 1.1\n---\na: yes\n",  # a directive: YAML 1.1 rules
        "a: [1, 2\n",  # syntax error
        "a: 'open\nb: 2\n",  # unclosed quote
        "\tz: 1\n",  # tab
        "? [a, b]\n: 1\n",  # a key that is not a scalar
        "a: [12:30]\n",  # libyaml versions differ on a colon in a flow plain scalar
        "a: {b?c: 1}\n",  # and on a question mark
    ],
)
def test_unusual_texts_go_to_the_located_loader(text: str) -> None:
    fast, _ = _both(text)
    assert fast is None


def test_alias_bomb_goes_to_the_located_loader() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 7):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]")
    fast, located = _both("\n".join(lines) + "\n")
    assert fast is None
    assert isinstance(located, str) and "alias bomb" in located


def test_a_problem_in_a_fast_read_document_is_located_exactly(tmp_path: Path) -> None:
    text = (
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: d1, model: UNO-2484G}\n"
        "spec:\n  firewall:\n    inbound:\n      - {name: ssh, port: 22, protocol: tcp}\n"
        "      - {name: web, port: 99999, protocol: tcp}\n"
    )
    assert _both(text)[0] is not None, "this text should take the fast path"
    path = tmp_path / "device.yaml"
    path.write_text(text)
    with pytest.raises(loader.SpecError) as caught:
        loader.load_device(path)
    assert [str(p).split(": ")[0] for p in caught.value.problems] == [f"{path}:8:27"]
    assert "spec.firewall.inbound.1.port" in str(caught.value)


def test_mutated_texts_read_the_same_or_go_to_the_located_loader() -> None:
    """A fixed sample of damaged files: where the located loader refuses one, the fast
    path never takes it; where both read it, the data agree."""
    rnd = random.Random(19)
    texts = [p.read_text() for p in YAML_FILES if p.name != "not-utf8.yaml"]
    alphabet = ":-?[]{},#&*!|>'\"%@` \t\n\\0123456789abcyesno.~<=_+"
    for _ in range(300):
        text = rnd.choice(texts)
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(text) + 1)
            if rnd.random() < 0.5:
                text = text[:at] + rnd.choice(alphabet) + text[at:]
            else:
                text = text[:at] + text[at + 1 :]
        fast, located = _both(text)
        if isinstance(located, str):
            assert fast is None, f"{located}\n{text}"
        elif fast is not None:
            assert _same(fast, located), text
            positions = [dict(d.positions) for d in loader.parse_documents(text, "t.yaml")]
            assert positions == [d.positions for d in loader._located_documents(text, "t.yaml")]


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 100_000 + "]" * 100_000 + "\n", "".join(" " * i + "k:\n" for i in range(1200))],
    ids=["flow", "block"],
)
def test_nesting_past_any_limit_is_one_clear_error(tmp_path: Path, text: str) -> None:
    """Once a segmentation fault in the C composer; now one located line, exit 1."""
    import subprocess

    from testkit import reconcile_cmd, subprocess_env

    path = tmp_path / "deep.yaml"
    path.write_text(text)
    run = subprocess.run(
        [*reconcile_cmd(), "validate", str(path)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "nesting deeper than 64 levels" in run.stdout + run.stderr
    assert f"{path}:" in run.stdout + run.stderr
