"""The README's coverage table (scripts/coverage_table.py): current, complete against the
gateway doc's groups, and refusing a map that names a field the schema lacks."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from testkit import REPO

from reconciler.areas import BY_NAME

SCRIPT = REPO / "scripts" / "coverage_table.py"
MAP = REPO / "scripts" / "coverage-map.yaml"
DOC = REPO / "tests" / "reference" / "gateway-thingspro-api.txt"

DOC_GROUPS = [
    "httpserver", "gps", "audit log", "ethernets", "general", "time", "IO", "network",
    "internet-check-alive", "security advisor", "wifi", "roles", "users", "password-policy",
    "authentication", "auth-lock", "sessions", "Update", "Upgrade", "firewall-user-zone",
    "reboot", "configuration", "sshserver", "serialconsole", "bios", "encrypt-storage",
    "system use notification", "provision", "backup-restore", "reset-default", "decommission",
    "system log", "dns", "cellulars", "certificate", "taghub", "serials", "firewall-core-zone",
    "function", "mqtt", "aws", "azure_device", "sparkplug", "openvpn", "azure iotedge",
    "services", "TCP Slaves", "Slave Zones", "Slave Control", "Master TCP Interfaces",
    "Master Serial Interfaces", "Master Control",
]  # fmt: skip
"""Every group header of the AIG-302 doc, read by hand from it."""


def _module() -> ModuleType:
    """scripts/ is no package: the script loaded by path (once, as its dataclasses need)."""
    if "coverage_table" not in sys.modules:
        spec = importlib.util.spec_from_file_location("coverage_table", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["coverage_table"] = module
        spec.loader.exec_module(module)
    return sys.modules["coverage_table"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_the_readme_table_is_what_the_script_generates() -> None:
    result = run()
    assert result.returncode == 0, (
        "README.md's coverage table is out of date (regenerate: .venv/bin/python "
        f"scripts/coverage_table.py --write):\n{result.stdout}{result.stderr}"
    )
    assert "groups in the gateway doc" in result.stdout and "fully declarable (" in result.stdout


def test_every_group_header_of_the_doc_is_found() -> None:
    assert _module().doc_groups(DOC.read_text()) == DOC_GROUPS


def test_group_headers_in_each_layout_of_the_doc() -> None:
    """A header above a repeated title, above a title with a description, above a title
    alone; titles without a header; a sample whose inner braces close indented."""
    text = "\n\n".join(
        [
            "AIG-302 APIs", "Download OpenAPI specification:Download",
            "gps", "Get gps configuration.", "Get gps configuration.", "Authorizations:", "x_auth",
            "Responses", "Response samples", "Content type", "application/json",
            "{", '  • "data": {', "    }", "}",
            "Patch gps configuration.", "Patch gps configuration.", "Request Body schema: x",
            "mode", "Responses",
            "authentication", "Get authentication status", "Says whether a token is valid",
            "Authorizations:", "Responses",
            "reboot", "Get reboot configuration", "Authorizations:", "Responses",
            "Reboot system", "Authorizations:", "Responses",
            "Update", "Trigger update", "Trigger update(s)", "Responses",
        ]
    )  # fmt: skip
    assert _module().doc_groups(text) == ["gps", "authentication", "reboot", "Update"]


def test_a_mapped_path_the_schema_lacks_fails(tmp_path: Path) -> None:
    """A mapped field must exist in the schema: a misspelt one fails the check."""
    mapped = tmp_path / "map.yaml"
    text = MAP.read_text()
    declared = "gps:\n  paths:\n    - gps\n"
    assert declared in text
    mapped.write_text(text.replace(declared, "gps:\n  paths:\n    - gpsd\n", 1))
    result = run("--map", mapped)
    assert result.returncode == 1
    assert "gps: spec.gpsd is not in device.schema.json" in result.stderr, result.stderr


def test_a_doc_group_missing_from_the_map_fails(tmp_path: Path) -> None:
    mapped = tmp_path / "map.yaml"
    mapped.write_text(MAP.read_text().replace("\nbios:\n", "\nbioss:\n", 1))
    result = run("--map", mapped)
    assert result.returncode == 1
    assert "doc group 'bios' is missing from coverage-map.yaml" in result.stderr, result.stderr
    assert "'bioss' is no group of the doc" in result.stderr


def test_an_out_of_date_table_is_reported_then_rewritten(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    readme.write_text(
        readme.read_text().replace("| gps | `gps` | fully |", "| gps | — | not yet |")
    )
    stale = run("--readme", readme)
    assert stale.returncode == 1 and "is out of date" in stale.stderr
    assert run("--readme", readme, "--write").returncode == 0
    assert run("--readme", readme).returncode == 0
    assert "| gps | `gps` | fully |" in readme.read_text()


@pytest.mark.parametrize("area", ["io", "network", "access", "update"])
def test_backend_columns_follow_the_area_registry(area: str) -> None:
    module = _module()
    group = module.Group("g", paths=(f"{area}.x",))
    limited = module.Group("g", paths=(f"{area}.x",), unavailable=(("sim", "why"),))
    for backend in ("sim", "linux", "portal"):
        want = "yes" if backend in BY_NAME[area].backends else "no"
        assert module._cell(group, backend) == want
    assert module._cell(limited, "sim") == "limited"
