"""`fleet validate`'s quick verdict: areas a device inherits are validated once per group set.

Most of a device's spec comes from fleet.yaml and its groups; its own file writes a few
areas. The merge shares every subtree the device does not touch with the merged base of its
groups, so `is` tells the device's own areas from inherited ones. The spec's areas validate
independently (no validator on Spec or DeviceSpec looks across areas, a capability check
takes one area and the model's hardware profile; tests/fleet/test_fleet_quickcheck.py holds
that), so an inherited area's verdict holds for every device with the same groups and model:
it is computed once, and each device validates only its own areas.

The quick path only ever says "valid". On any problem it answers False and the caller
validates the device in full, so every problem is located and worded by the one full path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler.fleet.render import RenderedDevice, Renderer

if TYPE_CHECKING:
    from reconciler.spec.device import DeviceSpec, Metadata

ALWAYS_OWN = frozenset({"files"})
"""Areas checked per device even when inherited: `files` sources are read relative to the
device file."""

Verdicts = dict[tuple[tuple[str, ...], Any, str], bool]


class QuickChecker:
    """Valid-or-unsure verdicts for layered devices of one renderer's repo."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self._verdicts: Verdicts = {}
        """(group names, area, model) -> whether the inherited area is valid."""

    def valid(self, device: RenderedDevice) -> bool:
        """True only if the full validation of this layered device would find nothing."""
        merged, metadata = device.merged, device.metadata
        if merged is None or metadata is None or device.problems:
            return False
        spec = merged.data.get("spec", {})
        base = self.renderer.base(device.groups).data.get("spec") or {}
        if not isinstance(spec, dict) or not isinstance(base, dict):
            return False
        own = {
            area: value
            for area, value in spec.items()
            if area in ALWAYS_OWN or area not in base or base[area] is not value
        }
        if not self._own_valid(device, metadata, own):
            return False
        groups = tuple(g.name for g in device.groups)
        for area, value in spec.items():
            if area in own:
                continue
            key = (groups, area, metadata.model)
            verdict = self._verdicts.get(key)
            if verdict is None:
                verdict = self._verdicts[key] = _area_valid(metadata, area, value)
            if not verdict:
                return False
        return True

    def _own_valid(self, device: RenderedDevice, metadata: Metadata, own: dict[str, Any]) -> bool:
        """The device's own areas: models, capabilities, file sources (its metadata passed
        DeviceHead, the same model DeviceSpec checks it with)."""
        from reconciler.spec.capabilities import capability_problems

        spec = _document(metadata, own)
        if spec is None or capability_problems(spec):
            return False
        if spec.spec.files:
            assert device.merged is not None
            return not self.renderer.file_sources(spec, device.merged, device.rel, device.file)
        return True


def _document(metadata: Metadata, spec: dict[str, Any]) -> DeviceSpec | None:
    """The DeviceSpec of valid `metadata` and `spec` (None if `spec` is invalid); what
    `DeviceSpec.model_validate` of the whole would give, without checking metadata again."""
    from reconciler.spec.device import DeviceSpec, Spec

    try:
        model = Spec.model_validate(spec)
    except ValidationError:
        return None
    return DeviceSpec.model_construct(
        api_version="reconciler/v1", kind="Device", metadata=metadata, spec=model
    )


def _area_valid(metadata: Metadata, area: Any, value: Any) -> bool:
    """One inherited area under a device's (valid) metadata: models, capabilities."""
    from reconciler.spec.capabilities import capability_problems

    spec = _document(metadata, {area: value})
    if spec is None:
        return False
    return not any(loc[:2] == ("spec", area) for loc, _ in capability_problems(spec))
