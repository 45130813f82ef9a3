"""The gateway doc's limits applied on sim as a user applies them: the longest host name and
description the doc allows, a user name only the doc allows, a rule name with spaces (the
doc's own sample) and a reboot schedule the AIG-302 takes all converge and then plan clean;
one value past a limit changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

HOSTNAME = "press-line-07-" + "x" * 34 + ".plant-a.example"  # 64 characters
DESCRIPTION = "Press line 7, " + "d" * 498  # 512 characters
SPEC = f"""\
apiVersion: reconciler/v1
kind: Device
metadata: {{name: gw-limits, model: AIG-302}}
spec:
  system:
    hostname: {HOSTNAME}
    description: "{DESCRIPTION}"
  access:
    roles:
      - {{name: viewer, permissions: ["status:read"]}}
    users:
      - {{name: Ops.Lead@plant-a, roles: [viewer], password: {{secretRef: monitor-password}}}}
  firewall:
    inbound:
      - {{name: open listen port 8081, port: 8081, protocol: tcp}}
  update:
    rebootSchedule: "0 3 * * 0,3"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gw.yaml"
    path.write_text(text)
    return path


def test_values_at_the_docs_limits_apply_and_converge_on_sim(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    assert len(HOSTNAME) == 64 and len(DESCRIPTION) == 512
    common = ("-f", _write(tmp_path, SPEC), "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    first = cli("plan", *common)
    assert first.code == 2, first.text
    assert "+ firewall.inbound[open listen port 8081]" in first.out, first.out
    assert "+ access.users[Ops.Lead@plant-a]" in first.out, first.out
    applied = cli("apply", *common, "--yes")
    assert applied.code == 0, applied.text
    assert cli("plan", *common).code == 0
    seen = cli("observe", "--state-dir", state_dir, "--json")
    assert seen.code == 0, seen.text
    observed = json.loads(seen.out)
    assert observed["system"]["hostname"] == HOSTNAME
    assert observed["system"]["description"] == DESCRIPTION
    assert "open listen port 8081" in [r["name"] for r in observed["firewall"]["inbound"]]
    assert "Ops.Lead@plant-a" in [u["name"] for u in observed["access"]["users"]]
    assert observed["update"]["rebootSchedule"] == "0 3 * * 0,3"


def test_one_past_a_limit_changes_nothing(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    common = ("-f", _write(tmp_path, SPEC), "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert cli("apply", *common, "--yes").code == 0
    too_long = SPEC.replace(HOSTNAME, HOSTNAME + "x")
    result = cli("apply", "-f", _write(tmp_path, too_long), *common[2:], "--yes")
    assert result.code == 1
    assert "gw.yaml:6:15: spec.system.hostname: host name is 65 characters" in result.err
    assert "did you mean 'press-line-07-" in result.err
    seen = json.loads(cli("observe", "--state-dir", state_dir, "--json").out)
    assert seen["system"]["hostname"] == HOSTNAME
