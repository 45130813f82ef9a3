"""One device's effective spec: fleet defaults, then its groups, then its own file.

Every problem is located where the offending value was written (the group file when a group
introduced it), using the provenance the merge records.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler.fleet.documents import (
    DeviceHead,
    FleetRepo,
    Group,
    device_rel,
    load_repo,
    read_yaml,
    stem,
)
from reconciler.fleet.merge import Layer, Merged, apply_layer, merge_layers
from reconciler.fleet.source import DirSource
from reconciler.loader import (
    Problem,
    SpecError,
    YamlDocument,
    dotted,
    validation_problems,
)
from reconciler.spec.base import Loc
from reconciler.startup import spec_loading

if TYPE_CHECKING:
    from reconciler.spec.device import DeviceSpec, Metadata

DEVICE_LAYER = "device"
_TOP_ORDER = ("apiVersion", "kind", "metadata", "spec")


class ProvenanceDocument(YamlDocument):
    """A YamlDocument whose problems are located through provenance, in any layer's file."""

    def __init__(self, merged: Merged, fallback_file: str) -> None:
        super().__init__(fallback_file, merged.data, {})
        self.merged = merged

    def problem(self, loc: Loc, message: str, *, at_key: bool = False, **kw: Any) -> Problem:
        for end in range(len(loc), -1, -1):
            chain = self.merged.provenance.get(loc[:end])
            if chain:
                origin = chain[-1]
                if at_key or end < len(loc):
                    line, col = origin.key_line, origin.key_col
                else:
                    line, col = origin.line, origin.col
                return Problem(origin.file, line, col, dotted(loc), message, **kw)
        return Problem(self.file, 1, 1, dotted(loc), message, **kw)


@dataclass
class RenderedDevice:
    """The outcome of rendering one device file (data may exist even with problems)."""

    rel: str
    file: str
    name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    metadata: Metadata | None = None
    """The device file's metadata, validated (None when its head is not)."""
    groups: list[Group] = field(default_factory=list)
    merged: Merged | None = None
    problems: list[Problem] = field(default_factory=list)
    spec: DeviceSpec | None = None
    layers: list[Layer] = field(default_factory=list)
    """The layers in the order applied: fleet defaults, groups, the device."""

    @property
    def data(self) -> dict[str, Any] | None:
        return self.merged.data if self.merged is not None else None

    @property
    def ok(self) -> bool:
        return self.merged is not None and not any(p.severity == "error" for p in self.problems)


def validate_rendered(merged: Merged, file: str) -> tuple[DeviceSpec | None, list[Problem]]:
    """DeviceSpec validation and capability checks, located through provenance."""
    from reconciler.spec.capabilities import capability_problems
    from reconciler.spec.device import DeviceSpec

    try:
        with spec_loading():  # as the loader's validation
            spec = DeviceSpec.model_validate(merged.data)
    except ValidationError as exc:
        return None, validation_problems(exc, ProvenanceDocument(merged, file), DeviceSpec)
    found = capability_problems(spec)
    if not found:
        return spec, []
    doc = ProvenanceDocument(merged, file)
    return None, [doc.problem(loc, message) for loc, message in found]


def policy_problems(
    repo: FleetRepo, doc: YamlDocument, rel: str, head: DeviceHead, groups: list[Group]
) -> list[Problem]:
    """File naming and the fleet policy's label and site-group rules for one device."""
    problems: list[Problem] = []
    name = head.metadata.name
    labels = head.metadata.labels
    if stem(rel) != name:
        problems.append(
            doc.problem(
                ("metadata", "name"),
                f"file name {rel.rsplit('/', 1)[-1]!r} does not match metadata.name {name!r}; "
                f"rename the file to devices/{name}.yaml",
            )
        )
    policy = repo.policy
    for label in policy.required_labels:
        if label not in labels:
            problems.append(
                doc.problem(
                    ("metadata", "labels"),
                    f"missing label {label!r}, required by fleet.yaml (policy.requiredLabels)",
                    at_key=True,
                )
            )
    if policy.require_site_group:
        key = policy.site_label
        site = labels.get(key)
        if site is None:
            if key not in policy.required_labels:
                problems.append(
                    doc.problem(
                        ("metadata", "labels"),
                        f"no {key!r} label, but fleet.yaml requires every device to be in a "
                        "site group (policy.requireSiteGroup)",
                        at_key=True,
                    )
                )
        elif not any(g.selector.get(key) == site for g in groups):
            problems.append(
                doc.problem(
                    ("metadata", "labels", key),
                    f"no group selects {key} {site!r} for this device (fleet.yaml "
                    f"policy.requireSiteGroup): a typo in the label, or add a group with "
                    f"selector {{{key}: {site}}}",
                )
            )
    return problems


def _ordered(data: dict[Any, Any]) -> dict[Any, Any]:
    head = {k: data[k] for k in _TOP_ORDER if k in data}
    return {**head, **{k: v for k, v in data.items() if k not in head}}


class Renderer:
    """Renders devices of one repo; caches the merge of fleet + each set of groups."""

    def __init__(self, repo: FleetRepo) -> None:
        self.repo = repo
        self._bases: dict[tuple[str, ...], Merged] = {}
        self._empty = Merged()
        self._selector_keys = sorted({k for g in repo.groups for k in g.selector})
        self._matching: dict[tuple[str | None, ...], list[Group]] = {}

    def base(self, groups: list[Group]) -> Merged:
        """Fleet defaults and `groups`, merged once per distinct set of groups."""
        key = tuple(g.name for g in groups)
        cached = self._bases.get(key)
        if cached is None:
            layers: list[Layer] = [g.layer for g in groups]
            if self.repo.fleet_layer is not None:
                layers.insert(0, self.repo.fleet_layer)
            cached = merge_layers(layers, self._empty)
            self._bases[key] = cached
        return cached

    def matching(self, labels: dict[str, str]) -> list[Group]:
        """The repo's groups selecting `labels`, looked up once per combination of the
        labels that any selector names (devices differ in the rest)."""
        key = tuple(labels.get(k) for k in self._selector_keys)
        groups = self._matching.get(key)
        if groups is None:
            groups = self._matching[key] = self.repo.matching(labels)
        return groups

    def render(self, rel: str, *, validate: bool = True) -> RenderedDevice:
        """Parse, check the head, layer and (optionally) validate one device file."""
        source = self.repo.source
        out = RenderedDevice(rel, source.display(rel))
        try:
            doc = read_yaml(source, rel, out.file)
        except SpecError as exc:
            out.problems = list(exc.problems)
            return out
        try:
            head = DeviceHead.model_validate(doc.data)
        except ValidationError as exc:
            out.problems = validation_problems(exc, doc, DeviceHead)
            meta = doc.data.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                out.name = meta["name"]
            return out
        out.name, out.labels, out.metadata = head.metadata.name, head.metadata.labels, head.metadata
        out.groups = self.matching(out.labels)
        out.problems = policy_problems(self.repo, doc, rel, head, out.groups)
        layer = Layer(DEVICE_LAYER, doc.file, doc.data, doc.positions)
        fleet = [self.repo.fleet_layer] if self.repo.fleet_layer is not None else []
        out.layers = [*fleet, *(g.layer for g in out.groups), layer]
        merged = apply_layer(self.base(out.groups), layer)
        merged.data = _ordered(merged.data)
        out.merged = merged
        out.problems.extend(merged.problems)
        if validate:
            self.validate(out)
        return out

    def validate(self, out: RenderedDevice) -> None:
        """The models and capability checks on a layered device (`render(validate=False)`)."""
        assert out.merged is not None, "validate a layered device"
        spec, found = validate_rendered(out.merged, out.file)
        if spec is not None and spec.spec.files:
            found = self.file_sources(spec, out.merged, out.rel, out.file)
        out.problems.extend(found)
        if not any(p.severity == "error" for p in out.problems):
            out.spec = spec

    def file_sources(self, spec: DeviceSpec, merged: Merged, rel: str, file: str) -> list[Problem]:
        """Read each file `source` from the repo, relative to the device file."""
        from reconciler.spec.files import load_sources

        source, base = self.repo.source, posixpath.dirname(rel)

        def read(name: str) -> bytes:
            try:
                return source.read(posixpath.join(base, name))
            except SpecError as exc:
                raise ValueError(
                    exc.problems[0].message if exc.problems else "unreadable"
                ) from None

        found = load_sources(spec.spec.files or [], read)
        doc = ProvenanceDocument(merged, file)
        return [doc.problem(("spec", "files", *loc), message) for loc, message in found]


def fleet_root_of(path: str | Path) -> Path | None:
    """The fleet root a file belongs to (ROOT/fleet.yaml, ROOT/groups/*, ROOT/devices/*).

    A device file in a fleet is a fragment, valid only once layered; `reconcile validate`
    can use this to render such a file with `render_fleet_device` instead.
    """
    p = Path(path)
    if p.name in ("fleet.yaml", "fleet.yml"):
        return p.parent
    parent = p.parent
    if parent.name in ("devices", "groups") and (parent.parent / "fleet.yaml").is_file():
        return parent.parent
    return None


def open_repo(root: str | Path) -> FleetRepo:
    """Load a fleet root from disk; SpecError with one clear sentence if it is not one."""
    path = Path(root)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        raise SpecError([Problem(str(path), 1, 1, "", f"fleet root {what}")])
    return load_repo(DirSource(path))


def render_fleet_device(root: str | Path, name: str, *, validate: bool = True) -> RenderedDevice:
    """Render one device by name; SpecError if the repo itself has errors or no such device."""
    repo = open_repo(root)
    errors = [p for p in repo.problems if p.severity == "error"]
    if errors:
        raise SpecError(errors)
    return Renderer(repo).render(device_rel(repo.source, name), validate=validate)


def load_fleet_device(root: Path, name: str) -> DeviceSpec:
    """The validated effective spec of device `name` in the fleet at `root`.

    Raises SpecError with every located problem: in fleet.yaml or any group (a broken repo
    is never applied, even in parts this device does not use), or in this device.
    """
    rendered = render_fleet_device(root, name)
    errors = [p for p in rendered.problems if p.severity == "error"]
    if errors or rendered.spec is None:
        raise SpecError(errors or [Problem(rendered.file, 1, 1, "", "device did not render")])
    return rendered.spec
