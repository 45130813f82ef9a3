"""Areas validated by validators built on first use (reconciler.spec.lazy): a document
pays only for the areas it declares, and nothing a user sees changes: errors keep their
locations, dumps their options, the JSON Schema its shape."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from reconciler.spec.device import DeviceSpec

HEAD = {"apiVersion": "reconciler/v1", "kind": "Device"}
META = {"metadata": {"name": "gw", "model": "UNO-2484G"}}


def test_an_error_inside_a_lazy_area_keeps_its_location() -> None:
    bad = {"system": {"hostname": "gw", "ntp": ["pool.ntp.org", 5]}, "watchdog": {"enabld": 1}}
    with pytest.raises(ValidationError) as caught:
        DeviceSpec.model_validate(HEAD | META | {"spec": bad})
    locs = {tuple(e["loc"]) for e in caught.value.errors()}
    assert ("spec", "system", "ntp", 1) in locs
    assert ("spec", "watchdog", "enabld") in locs


def test_dumps_keep_the_callers_options() -> None:
    spec = {"system": {"hostname": "gw"}, "files": [{"path": "/etc/a", "content": "x\n"}]}
    doc = DeviceSpec.model_validate(HEAD | META | {"spec": spec})
    assert doc.model_dump(by_alias=True, exclude_unset=True)["spec"] == spec
    assert '"hostname":"gw"' in doc.model_dump_json(by_alias=True, exclude_unset=True)
    assert "timezone" in doc.model_dump(by_alias=True)["spec"]["system"]  # unset, not excluded


def test_a_document_builds_only_the_areas_it_declares() -> None:
    """In a fresh process: validating a files-only document builds no validator of the
    other areas (their adapters stay unbuilt)."""
    script = (
        "from reconciler.spec.device import DeviceSpec, Spec\n"
        "from reconciler.spec.lazy import Lazy\n"
        "DeviceSpec.model_validate({'apiVersion': 'reconciler/v1', 'kind': 'Device',"
        " 'metadata': {'name': 'gw', 'model': 'UNO-2484G'},"
        " 'spec': {'files': [{'path': '/etc/a', 'content': 'x'}]}})\n"
        "built = sorted(n for n, f in Spec.model_fields.items()"
        " for m in f.metadata if isinstance(m, Lazy) and m._adapter is not None)\n"
        "print(built)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['files']"
