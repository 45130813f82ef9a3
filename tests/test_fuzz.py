"""Property-based fuzzing, bounded to a few seconds (bench/fuzz.py runs longer): mutated
documents and fleet repos end in located errors or valid results, never a traceback or a
hang (raw HTTP requests: tests/api/test_fuzz_http.py)."""

from __future__ import annotations

from pathlib import Path

from fuzzkit import check_document, check_fleet, documents
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BOUNDED = settings(
    max_examples=25,
    deadline=None,  # a loaded machine is slow, not hung; the run itself is bounded
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@BOUNDED
@given(documents())
def test_any_document_ends_in_located_errors_or_a_spec(text: str) -> None:
    check_document(text)


@settings(BOUNDED, max_examples=8)
@given(st.lists(documents(), min_size=1, max_size=3), st.lists(documents(), max_size=2))
def test_any_fleet_repo_validates_to_a_report(devices: list[str], groups: list[str]) -> None:
    check_fleet(devices, groups)


def test_fuzzkit_seeds_are_the_examples() -> None:
    from fuzzkit import SEEDS

    assert len(SEEDS) == len(list((Path(__file__).parent.parent / "examples").glob("*.yaml")))
