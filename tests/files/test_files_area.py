"""The files area end to end through the CLI: a fleet device whose files come inline, from
the repo (relative to the device file) and from a secret, on the linux backend under
`--root DIR` and on the sim backend."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import SECRETS, Result

DEVICE = """\
apiVersion: reconciler/v1
kind: Device
metadata: {name: gw, model: UNO-2484G}
spec:
  files:
    - {path: /etc/plc/line.conf, source: files/line.conf, mode: "0640"}
    - {path: /etc/motd, content: "welcome\\n"}
    - {path: /etc/ssl/private/plc.key, secretRef: mqtt-password}
%s"""

Cli = Callable[..., Result]


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    (root / "devices" / "files").mkdir(parents=True)
    (root / "fleet.yaml").write_text("apiVersion: reconciler/v1\nkind: Fleet\n")
    (root / "devices" / "files" / "line.conf").write_text("speed=3\n")
    (root / "devices" / "gw.yaml").write_text(DEVICE % "")
    return root


@pytest.fixture
def image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    (root / "etc").mkdir(parents=True)
    return root


def _args(fleet: Path, image: Path, state: Path, secrets: Path) -> list[Any]:
    return ["--fleet", fleet, "--device", "gw", "--backend", "linux", "--root", image]


def _run(cli: Cli, cmd: str, fleet: Path, image: Path, state: Path, secrets: Path, *more: str):
    args = [cmd, *_args(fleet, image, state, secrets), "--state-dir", state]
    return cli(*args, "--secrets-dir", secrets, *more)


def test_apply_writes_every_file_under_the_root_then_plans_clean(
    cli: Cli, fleet: Path, image: Path, state_dir: Path, secrets_dir: Path
) -> None:
    plan = _run(cli, "plan", fleet, image, state_dir, secrets_dir, "--json")
    assert plan.code == 2, plan.text
    assert json.loads(plan.out)["summary"] == {"add": 3, "change": 0, "remove": 0}
    applied = _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes")
    assert applied.code == 0, applied.text
    line = image / "etc" / "plc" / "line.conf"
    assert line.read_text() == "speed=3\n"
    assert stat.S_IMODE(line.stat().st_mode) == 0o640
    key = image / "etc" / "ssl" / "private" / "plc.key"
    assert key.read_text() == SECRETS["mqtt-password"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # a secret's default
    assert (image / "etc" / "motd").read_text() == "welcome\n"
    assert not list(image.rglob(".*.tmp")), "temp files left behind"
    again = _run(cli, "plan", fleet, image, state_dir, secrets_dir)
    assert again.code == 0, again.text


def test_drift_is_one_change_and_the_secret_never_shows(
    cli: Cli, fleet: Path, image: Path, state_dir: Path, secrets_dir: Path
) -> None:
    _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes")
    key = image / "etc" / "ssl" / "private" / "plc.key"
    key.write_text("tampered")
    plan = _run(cli, "plan", fleet, image, state_dir, secrets_dir, "--json")
    assert plan.code == 2
    changes = json.loads(plan.out)["changes"]
    assert [c["path"] for c in changes] == ["files[/etc/ssl/private/plc.key].content"]
    assert changes[0]["after"] == "(sensitive)"
    history = cli("history", "--state-dir", state_dir, "--show", "1", "--json")
    for text in (plan.text, history.text):
        assert SECRETS["mqtt-password"] not in text
    assert SECRETS["mqtt-password"] not in (state_dir / "history.db").read_bytes().decode(
        errors="replace"
    )
    fixed = _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes")
    assert fixed.code == 0, fixed.text
    assert key.read_text() == SECRETS["mqtt-password"]


def test_absent_removes_and_prune_touches_only_files_it_created(
    cli: Cli, fleet: Path, image: Path, state_dir: Path, secrets_dir: Path
) -> None:
    (image / "etc" / "old.conf").write_text("legacy\n")
    (image / "etc" / "mine.conf").write_text("the operator's own\n")
    device = fleet / "devices" / "gw.yaml"
    device.write_text(DEVICE % "    - {path: /etc/old.conf, ensure: absent}\n")
    assert _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes").code == 0
    assert not (image / "etc" / "old.conf").exists()
    # /etc/motd (created by the reconciler) and /etc/mine.conf (never managed) leave the spec
    text = (DEVICE % "").replace('    - {path: /etc/motd, content: "welcome\\n"}\n', "")
    device.write_text(text)
    plan = _run(cli, "plan", fleet, image, state_dir, secrets_dir, "--json")
    removes = [c["path"] for c in json.loads(plan.out)["changes"] if c["op"] == "remove"]
    assert removes == ["files[/etc/motd]"]
    assert _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes").code == 0
    assert not (image / "etc" / "motd").exists()
    assert (image / "etc" / "mine.conf").read_text() == "the operator's own\n"


def test_mode_change_alone_keeps_the_content(
    cli: Cli, fleet: Path, image: Path, state_dir: Path, secrets_dir: Path
) -> None:
    _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes")
    device = fleet / "devices" / "gw.yaml"
    device.write_text(device.read_text().replace('mode: "0640"', 'mode: "0600"'))
    plan = _run(cli, "plan", fleet, image, state_dir, secrets_dir, "--json")
    assert [c["path"] for c in json.loads(plan.out)["changes"]] == [
        "files[/etc/plc/line.conf].mode"
    ]
    assert _run(cli, "apply", fleet, image, state_dir, secrets_dir, "--yes").code == 0
    line = image / "etc" / "plc" / "line.conf"
    assert stat.S_IMODE(line.stat().st_mode) == 0o600 and line.read_text() == "speed=3\n"


def test_sim_backend_manages_the_same_files(
    cli: Cli, fleet: Path, state_dir: Path, secrets_dir: Path
) -> None:
    args = ["--fleet", fleet, "--device", "gw", "--state-dir", state_dir]
    args += ["--secrets-dir", secrets_dir]
    assert cli("apply", *args, "--yes").code == 0
    assert cli("plan", *args).code == 0
    (fleet / "devices" / "files" / "line.conf").write_text("speed=4\n")
    plan = cli("plan", *args, "--json")
    assert [c["path"] for c in json.loads(plan.out)["changes"]] == [
        "files[/etc/plc/line.conf].content"
    ]
    device = json.loads((state_dir / "sim" / "device.json").read_text())
    assert SECRETS["mqtt-password"] not in json.dumps(device)


def test_root_refuses_live_host_commands_and_other_backends(
    cli: Cli, tmp_path: Path, image: Path, state_dir: Path
) -> None:
    spec = tmp_path / "gw.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            apiVersion: reconciler/v1
            kind: Device
            metadata: {name: gw, model: UNO-2484G}
            spec:
              system: {hostname: edge-01}
              firewall: {inbound: [{name: ssh, port: 22, protocol: tcp}]}
            """
        )
    )
    base = ["-f", spec, "--state-dir", state_dir]
    wrong = cli("plan", *base, "--root", image)
    assert wrong.code == 1 and "--root DIR works with the linux backend only" in wrong.err
    result = cli("apply", *base, "--backend", "linux", "--root", image, "--yes")
    assert result.code == 1
    assert "would act on the live host" in result.text
    assert (image / "etc" / "hostname").read_text() == "edge-01\n"  # files still written


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{path: etc/x, content: a}", "is not an absolute path"),
        ("{path: /etc/../x, content: a}", "contains '..'"),
        ("{path: /var/lib/reconciler/x, content: a}", "under the reconciler's state dir"),
        ("{path: /etc/x, content: a, secretRef: k}", "exactly one of content, source or secretRef"),
        ("{path: /etc/x, source: ../escape}", "relative to the device file"),
        ("{path: /etc/x, source: nothere.conf}", "cannot read 'nothere.conf'"),
    ],
)
def test_validate_refuses_bad_paths_and_sources(
    cli: Cli, fleet: Path, entry: str, message: str
) -> None:
    device = fleet / "devices" / "gw.yaml"
    device.write_text(DEVICE % f"    - {entry}\n")
    result = cli("validate", fleet)
    assert result.code == 1, result.text
    assert f"{os.path.join(fleet, 'devices', 'gw.yaml')}:9:" in result.err
    assert message in result.err
