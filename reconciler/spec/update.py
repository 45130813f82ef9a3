"""PLACEHOLDER: being written."""

from __future__ import annotations

from reconciler.spec.base import SpecModel


class UpdateSpec(SpecModel):
    pass
