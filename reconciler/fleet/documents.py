"""The fleet repo's documents (Fleet, Group, the head of a Device) and loading a repo.

`fleet.yaml` holds the defaults and the fleet's policy; `groups/*.yaml` hold label
selectors, priorities and spec fragments; `devices/*.yaml` are Device documents whose
`spec` overrides what they inherit. A spec fragment is plain data here: it is only checked
as a whole once layered into a device (so a fragment may be partial), plus an early check
for unknown keys, so a typo in a group that selects nothing is still caught.

Policy (fleet.yaml, all optional):

    policy:
      siteLabel: site            # the label that names a device's site (default: site)
      requiredLabels: [site]     # every device must carry these labels
      requireSiteGroup: true     # every device must match at least one group whose
                                 # selector pins siteLabel to the device's site (the
                                 # site group: its DNS, NTP, MQTT broker ...)
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from reconciler.fleet.merge import Layer
from reconciler.fleet.source import FleetSource
from reconciler.loader import (
    Problem,
    SpecError,
    YamlDocument,
    decode,
    parse_document,
    validation_problems,
)
from reconciler.spec.base import Loc, SpecModel
from reconciler.spec.device import DEVICE_NAME, LABEL_KEY, LABEL_VALUE, Metadata

FLEET_FILE = "fleet.yaml"
GROUPS_DIR = "groups"
DEVICES_DIR = "devices"
GROUP_NAME = DEVICE_NAME

_DEVICE_NAME_RE = re.compile(DEVICE_NAME)


class FleetMetadata(SpecModel):
    """Descriptive only; nothing selects on it."""

    name: str | None = None
    """A name for the fleet, shown in reports."""
    description: str | None = None


class FleetPolicy(SpecModel):
    """Rules every device of the fleet must follow (checked by `reconcile fleet validate`)."""

    site_label: str = Field(default="site", pattern=LABEL_KEY)
    """The label that names a device's site."""
    required_labels: list[str] = Field(default_factory=list)
    """Labels every device must carry."""
    require_site_group: bool = False
    """Every device must match a group whose selector names its site (siteLabel: SITE)."""


class FleetDocument(SpecModel):
    """fleet.yaml: fleet-wide defaults (any part of a device spec) and policy."""

    api_version: Literal["reconciler/v1"]
    kind: Literal["Fleet"]
    metadata: FleetMetadata | None = None
    policy: FleetPolicy = Field(default_factory=FleetPolicy)
    spec: dict[str, Any] | None = None
    """Defaults for every device: any part of a Device's spec."""


class GroupMetadata(SpecModel):
    """The group's identity: its name orders ties and names it in problems."""

    name: str = Field(pattern=GROUP_NAME)
    """Group name: lower-case letters, digits and '-'; the file is groups/NAME.yaml."""
    description: str | None = None


class GroupDocument(SpecModel):
    """groups/NAME.yaml: a spec fragment for every device whose labels match `selector`."""

    api_version: Literal["reconciler/v1"]
    kind: Literal["Group"]
    metadata: GroupMetadata
    selector: dict[str, str]
    """Labels a device must all carry, with these values, to be in the group."""
    priority: int = Field(default=0, ge=-1000, le=1000)
    """Higher wins over lower; equal priorities must not set a path to different values."""
    spec: dict[str, Any] | None = None
    """Any part of a Device's spec."""

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError(
                "an empty selector would match every device; put fleet-wide settings in "
                "fleet.yaml, or name at least one label"
            )
        for key, val in value.items():
            if not re.match(LABEL_KEY, key):
                raise ValueError(f"invalid label key {key!r} in selector")
            if not re.match(LABEL_VALUE, val):
                raise ValueError(f"invalid value {val!r} for label {key!r} in selector")
        return value


class DeviceHead(SpecModel):
    """A device file before layering: metadata fully checked, spec only as a mapping."""

    api_version: Literal["reconciler/v1"]
    kind: Literal["Device"]
    metadata: Metadata
    spec: dict[Any, Any] | None = None


@dataclass(frozen=True)
class Group:
    """A loaded, structurally valid group."""

    name: str
    rel: str
    file: str
    selector: dict[str, str]
    priority: int
    layer: Layer
    selector_pos: tuple[int, int]
    name_pos: tuple[int, int]

    def matches(self, labels: dict[str, str]) -> bool:
        """Every selector label must be on the device with the same value."""
        return all(labels.get(k) == v for k, v in self.selector.items())


@dataclass
class FleetRepo:
    """Fleet defaults, policy and groups of one fleet root; devices are read on demand."""

    source: FleetSource
    policy: FleetPolicy
    fleet_layer: Layer | None
    groups: list[Group]
    """Structurally valid groups, in layering order: priority, then name."""
    problems: list[Problem] = field(default_factory=list)
    """Problems in fleet.yaml and groups/ (errors mean the repo must not be applied)."""

    def matching(self, labels: dict[str, str]) -> list[Group]:
        return [g for g in self.groups if g.matches(labels)]

    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def check_device_name(name: str) -> None:
    """Refuse names that are not DNS labels (so never a path: no '/', no '..')."""
    if not _DEVICE_NAME_RE.match(name):
        raise SpecError(
            [
                Problem(
                    "<command line>",
                    1,
                    1,
                    "",
                    f"invalid device name {name!r}: use 1-63 lower-case letters, digits and "
                    "'-' (no path separators or '..')",
                )
            ]
        )


def read_yaml(source: FleetSource, rel: str, file: str | None = None) -> YamlDocument:
    """One mapping document from the source; SpecError with a located problem otherwise.
    `file` is `source.display(rel)` when the caller has it already."""
    file = source.display(rel) if file is None else file
    return parse_document(decode(source.read(rel), file), file)


def stem(rel: str) -> str:
    """The name a file declares by its path: devices/NAME.yaml -> NAME."""
    name = rel.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def fragment_problems(doc: YamlDocument, loc: Loc = ("spec",)) -> list[Problem]:
    """Unknown keys in a spec fragment, found before (and without) layering."""
    from reconciler.spec.device import DeviceSpec
    from reconciler.spec.introspect import field_names_at

    problems: list[Problem] = []

    def visit(value: Any, at: Loc) -> None:
        if isinstance(value, dict):
            allowed = field_names_at(DeviceSpec, at)
            for key, child in value.items():
                if allowed and key not in allowed:
                    msg = f"unknown field {key!r}"
                    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                    if close:
                        msg += f"; did you mean {close[0]!r}?"
                    else:
                        msg += f" (allowed: {', '.join(sorted(allowed))})"
                    problems.append(doc.problem((*at, key), msg, at_key=True))
                elif child is not None:
                    visit(child, (*at, key))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                visit(child, (*at, i))

    value = doc.data.get(loc[0]) if isinstance(doc.data, dict) else None
    visit(value, loc)
    return problems


def layer_problems(doc: YamlDocument) -> list[Problem]:
    """A Fleet or Group document on its own (`reconcile validate FILE`): structure, unknown
    spec keys, and for a group that its file is named after it."""
    kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
    model: type[FleetDocument | GroupDocument] = GroupDocument if kind == "Group" else FleetDocument
    try:
        parsed = model.model_validate(doc.data)
    except ValidationError as exc:
        return validation_problems(exc, doc, model)
    problems = fragment_problems(doc)
    if isinstance(parsed, GroupDocument) and stem(doc.file) != parsed.metadata.name:
        problems.append(
            doc.problem(
                ("metadata", "name"),
                f"group {parsed.metadata.name!r} must live in {GROUPS_DIR}/"
                f"{parsed.metadata.name}.yaml (file name and metadata.name differ)",
            )
        )
    return problems


def _relax(schema: Any) -> None:
    """Drop `required` everywhere: a fragment may leave out what another layer supplies."""
    if isinstance(schema, dict):
        schema.pop("required", None)
        for value in schema.values():
            _relax(value)
    elif isinstance(schema, list):
        for value in schema:
            _relax(value)


def layer_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas for fleet.yaml, groups/*.yaml and devices/*.yaml, file name -> schema.

    Their `spec` is the Device spec's schema with nothing required (a fragment), so editors
    complete and check keys in groups as they do in device files. A fleet's device file is
    a fragment too (an override of what fleet.yaml and its groups give); its metadata is
    checked whole, as DeviceHead checks it.
    """
    from reconciler.spec.device import Spec
    from reconciler.spec.schema_docs import DocstringJsonSchema

    fragment = Spec.model_json_schema(
        by_alias=True, mode="validation", schema_generator=DocstringJsonSchema
    )
    _relax(fragment)
    defs = fragment.pop("$defs", {})
    fragment["title"] = "Spec fragment"
    out: dict[str, dict[str, Any]] = {}
    layers: tuple[tuple[str, type[SpecModel], str], ...] = (
        ("fleet.schema.json", FleetDocument, "reconciler Fleet (fleet.yaml)"),
        ("group.schema.json", GroupDocument, "reconciler Group (groups/NAME.yaml)"),
        ("fleet-device.schema.json", DeviceHead, "reconciler fleet Device (devices/NAME.yaml)"),
    )
    for file, model, title in layers:
        schema = model.model_json_schema(
            by_alias=True, mode="validation", schema_generator=DocstringJsonSchema
        )
        schema.setdefault("$defs", {}).update(defs)
        schema["$defs"]["SpecFragment"] = fragment
        description = schema["properties"]["spec"].get("description", "")
        schema["properties"]["spec"] = {
            "anyOf": [{"$ref": "#/$defs/SpecFragment"}, {"type": "null"}],
            "description": description,
        }
        out[file] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": title,
            **schema,
        }
    return out


def _load_fleet(source: FleetSource) -> tuple[Layer | None, FleetPolicy, list[Problem]]:
    """fleet.yaml as a layer (or None) plus its policy; its problems located."""
    if not source.exists(FLEET_FILE):
        message = (
            f"no {FLEET_FILE}: not a fleet root (expected {FLEET_FILE}, {GROUPS_DIR}/ "
            f"and {DEVICES_DIR}/)"
        )
        return None, FleetPolicy(), [Problem(source.display(FLEET_FILE), 1, 1, "", message)]
    try:
        doc = read_yaml(source, FLEET_FILE)
    except SpecError as exc:
        return None, FleetPolicy(), list(exc.problems)
    try:
        fleet = FleetDocument.model_validate(doc.data)
    except ValidationError as exc:
        return None, FleetPolicy(), validation_problems(exc, doc, FleetDocument)
    problems = fragment_problems(doc)
    spec = doc.data.get("spec")
    layer = Layer("fleet", doc.file, {"spec": spec} if spec else {}, doc.positions)
    return layer, fleet.policy, problems


def _load_group(source: FleetSource, rel: str) -> tuple[Group | None, list[Problem]]:
    """One group file as a layer, or None when it is structurally broken."""
    try:
        doc = read_yaml(source, rel)
    except SpecError as exc:
        return None, list(exc.problems)
    try:
        group = GroupDocument.model_validate(doc.data)
    except ValidationError as exc:
        return None, validation_problems(exc, doc, GroupDocument)
    problems = fragment_problems(doc)
    name = group.metadata.name
    if stem(rel) != name:
        problems.append(
            doc.problem(
                ("metadata", "name"),
                f"group {name!r} must live in {GROUPS_DIR}/{name}.yaml (file name and "
                "metadata.name differ)",
            )
        )
    spec = doc.data.get("spec")
    layer = Layer(
        f"group:{name}",
        doc.file,
        {"spec": spec} if spec else {},
        doc.positions,
        priority=group.priority,
    )
    selector_pos = doc.position(("selector",), at_key=True)
    name_pos = doc.position(("metadata", "name"))
    group_def = Group(
        name, rel, doc.file, group.selector, group.priority, layer, selector_pos, name_pos
    )
    return group_def, problems


def load_repo(source: FleetSource) -> FleetRepo:
    """fleet.yaml and every group; each problem located; broken groups left out."""
    fleet_layer, policy, problems = _load_fleet(source)
    rels, listing = source.list_yaml(GROUPS_DIR)
    problems.extend(listing)
    groups: list[Group] = []
    by_name: dict[str, Group] = {}
    for rel in rels:
        group, group_problems = _load_group(source, rel)
        problems.extend(group_problems)
        if group is None:
            continue
        first = by_name.get(group.name)
        if first is not None:
            line, col = group.name_pos
            problems.append(
                Problem(
                    group.file,
                    line,
                    col,
                    "metadata.name",
                    f"duplicate group name {group.name!r} (also in {first.file})",
                )
            )
            continue
        by_name[group.name] = group
        groups.append(group)
    groups.sort(key=lambda g: (g.priority, g.name))
    return FleetRepo(source, policy, fleet_layer, groups, problems)


def device_files(source: FleetSource) -> tuple[list[str], list[Problem]]:
    """Every device file (relative paths, sorted) and problems with the directory."""
    rels, problems = source.list_yaml(DEVICES_DIR)
    if not rels and not source.exists(DEVICES_DIR):
        problems.append(
            Problem(source.display(DEVICES_DIR), 1, 1, "", "no devices/ directory", "warning")
        )
    return rels, problems


def device_rel(source: FleetSource, name: str) -> str:
    """devices/NAME.yaml (or .yml) for a checked name; SpecError if there is none."""
    check_device_name(name)
    for suffix in (".yaml", ".yml"):
        rel = f"{DEVICES_DIR}/{name}{suffix}"
        if source.exists(rel):
            return rel
    raise SpecError(
        [
            Problem(
                source.display(f"{DEVICES_DIR}/{name}.yaml"),
                1,
                1,
                "",
                f"no device {name!r} in this fleet (expected {DEVICES_DIR}/{name}.yaml)",
            )
        ]
    )
