"""PLACEHOLDER: being written."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.loader import Loc
from reconciler.profiles import HardwareProfile
from reconciler.spec.base import SpecModel


class NetworkSpec(SpecModel):
    pass


def capability_problems(spec: NetworkSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    yield from ()
