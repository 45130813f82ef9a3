"""Secret values never appear in plan text, --json, history, the store or the sim state."""

from __future__ import annotations

from pathlib import Path

from testkit import REPO, SECRETS

FULL = REPO / "examples" / "full-featured.yaml"


def assert_clean(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for name, value in SECRETS.items():
        assert value.encode() not in data, f"secret {name} leaked into {where}"


def test_no_secret_value_anywhere(cli, state_dir: Path, secrets_dir: Path) -> None:
    common = ("-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    outputs = {
        "plan": cli("plan", *common),
        "plan --json": cli("plan", *common, "--json"),
        "apply": cli("apply", *common, "--yes"),
    }
    assert outputs["plan"].code == 2 and outputs["apply"].code == 0, outputs["apply"].text
    assert "(sensitive)" in outputs["plan"].out
    # Change the secret on the device side: the plan shows a sensitive change, no value.
    (secrets_dir / "mqtt-password").write_text("rotated-Secret-Value-11\n")
    rotated = cli("plan", *common)
    assert rotated.code == 2 and "cloud.mqtt.password: (sensitive) -> (sensitive)" in rotated.out
    assert "rotated-Secret-Value-11" not in rotated.text
    outputs["after apply"] = cli("apply", *common, "--yes", "--json")
    outputs["history"] = cli("history", "--state-dir", state_dir, "--json")
    outputs["history show"] = cli("history", "--state-dir", state_dir, "--show", "1")
    outputs["observe"] = cli("observe", "--state-dir", state_dir, "--json")
    for where, result in outputs.items():
        assert_clean(result.text, where)
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert_clean(path.read_bytes(), str(path))


def test_missing_secret_is_one_clear_error(cli, state_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nosecrets"
    empty.mkdir()
    result = cli("plan", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", empty)
    assert result.code == 1
    assert "secret 'plant-a-wifi' not found" in result.err
    assert "Traceback" not in result.err


def test_world_readable_secret_file_is_refused(cli, state_dir: Path, secrets_dir: Path) -> None:
    (secrets_dir / "plant-a-wifi").chmod(0o644)
    result = cli("plan", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert result.code == 1 and "chmod 600" in result.err


def test_remembered_passwords_still_see_a_new_secret_or_a_hand_set_hash(
    cli, state_dir: Path, secrets_dir: Path
) -> None:
    """Plans skip crypt for a (secret, device hash) pair already verified; a rotated secret
    or a hash changed on the device is still a planned change, and no file of the state
    dir ever holds a secret."""
    import json

    from reconciler.engine.credentials import hash_password

    common = ("-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert cli("apply", *common, "--yes").code == 0
    assert cli("plan", *common).code == 0  # verifies and remembers the pairs
    assert cli("plan", *common).code == 0  # from the memo
    secret = secrets_dir / "operator-password"
    original = secret.read_text()
    secret.write_text("rotated-Operator-Secret-12\n")
    rotated = cli("plan", *common)
    assert rotated.code == 2 and ".password: (sensitive) -> (sensitive)" in rotated.out
    secret.write_text(original)
    assert cli("plan", *common).code == 0
    device = state_dir / "sim" / "device.json"
    data = json.loads(device.read_text())
    users = data["state"]["access"]["users"]
    changed = next(u for u in users if u["name"] == "operator")
    changed["passwordHash"] = hash_password("Set-By-Hand-On-Device-13")
    device.write_text(json.dumps(data))
    by_hand = cli("plan", *common)
    assert by_hand.code == 2 and "access.users[operator].password" in by_hand.out
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert_clean(path.read_bytes(), str(path))
            assert b"rotated-Operator-Secret-12" not in path.read_bytes()
