"""The gateway doc's system groups as a user meets them: planned with the doc's field names
and secrets hidden, applied on the sim (which refuses what the unit refuses), and on a
linux image (`--root`) written where Debian keeps them, the rest reported unavailable."""

from __future__ import annotations

import json
from pathlib import Path

from testkit import REPO, SECRETS

EXAMPLE = REPO / "examples" / "gateway-services.yaml"
HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: AIG-302}\nspec:\n"


def test_sim_plans_applies_and_keeps_secrets_out(cli, state_dir: Path, secrets_dir: Path) -> None:
    common = ("-f", EXAMPLE, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    first = cli("plan", *common)
    assert first.code == 2, first.text
    out = first.out
    assert '    ~ gps.mode: "auto" -> "manual"' in out
    assert "    + gps.location: {latitude: 51.2277, longitude: 6.7735}" in out
    assert "    ~ system.auditLog.alertThreshold: 80 -> 85" in out
    assert "system.bios" not in out  # the unit ships with BIOS configuration off
    assert "+ vpn.openvpn[plant-b]:" in out and "profile: (sensitive)" in out
    assert "connectionString: (sensitive)" in out and "(disruptive)" in out
    assert cli("apply", *common, "--yes").code == 0
    assert cli("plan", *common).code == 0
    observed = cli("observe", "--state-dir", state_dir, "--json")
    state = json.loads(observed.out)
    assert state["gps"]["mode"] == "manual"
    assert [c["name"] for c in state["vpn"]["openvpn"]] == ["plant-b"]
    assert state["edge"]["serviceAccounts"][0]["source"] == "AzureIoTEdge"
    for name, value in SECRETS.items():
        assert value not in observed.out, name


def test_sim_refuses_turning_encryption_off(
    cli, state_dir: Path, secrets_dir: Path, tmp_path: Path
) -> None:
    disk = (
        "    encryptedStorage:\n"
        "      - {disk: USB3_p2, encrypted: true, password: {secretRef: disk-key}}\n"
    )
    on, off = tmp_path / "on.yaml", tmp_path / "off.yaml"
    on.write_text(HEAD + "  system:\n" + disk)
    off.write_text(HEAD + "  system:\n    encryptedStorage: []\n")
    where = ("--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert cli("apply", "-f", on, *where, "--yes").code == 0
    refused = cli("apply", "-f", off, *where, "--yes")
    assert refused.code == 1
    assert "disabling encrypted storage is not allowed" in refused.err
    assert cli("plan", "-f", on, *where).code == 0  # the device kept its encrypted disk


def test_linux_image_gets_banner_and_journald_edge_unavailable(
    cli, state_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "image"
    (root / "etc/ssh").mkdir(parents=True)
    (root / "etc/hostname").write_text("gw\n")
    (root / "etc/ssh/sshd_config").write_text("Include /etc/ssh/sshd_config.d/*.conf\n")
    spec = tmp_path / "gw.yaml"
    spec.write_text(
        HEAD + "  system:\n"
        '    banner: {enable: true, enableDefaultText: false, userText: "Authorized use only."}\n'
        "    systemLog: {desiredDiskCacheSizeMB: 64, enableTimeToLive: true, timeToLiveDay: 10}\n"
        "  edge:\n    functions: [{name: f1, enabled: true}]\n"
    )
    where = ("-f", spec, "--backend", "linux", "--root", root, "--state-dir", state_dir)
    applied = cli("apply", *where, "--yes")
    assert applied.code == 1
    assert "edge: the linux backend does not manage edge" in applied.err
    assert "gateway's own software" in applied.err
    assert (root / "etc/issue.net").read_text() == "Authorized use only.\n"
    banner = (root / "etc/ssh/sshd_config.d/20-reconciler-banner.conf").read_text()
    assert "Banner /etc/issue.net" in banner
    journald = (root / "etc/systemd/journald.conf.d/99-reconciler.conf").read_text()
    assert "SystemMaxUse=64M" in journald and "MaxRetentionSec=10day" in journald
    again = cli("plan", *where)
    assert again.code == 2
    assert "system." not in again.out and "+ edge:" in again.out
