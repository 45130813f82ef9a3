"""plan/apply as a user sees them: exit codes, the text and --json contracts, confirmation,
history and rollback, every example converging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testkit import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
FULL = REPO / "examples" / "full-featured.yaml"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_example_applies_then_plans_clean(
    example: Path, cli, state_dir: Path, secrets_dir: Path
) -> None:
    common = ("-f", example, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    first = cli("plan", *common)
    assert first.code == 2, first.text
    applied = cli("apply", *common, "--yes")
    assert applied.code == 0, applied.text
    again = cli("plan", *common)
    assert again.code == 0, again.text
    assert "No changes." in again.out


def test_plan_text_is_grouped_and_summarised(cli, state_dir: Path, secrets_dir: Path) -> None:
    result = cli("plan", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert result.code == 2
    out = result.out
    assert out.startswith("Plan for press-line-07 (sim backend):")
    assert '    ~ system.hostname: "uno-2484g" -> "press-line-07"' in out
    assert '    + access.users[monitor]: {name: "monitor"' in out
    assert "password: (sensitive)" in out
    assert "  (connectivity)" in out and "  (disruptive)" in out
    assert "\033[" not in out  # no colour when not on a terminal
    summary = [line for line in out.splitlines() if line.startswith("Plan: ")]
    assert summary and summary[0].endswith("to remove.")
    # Areas appear in apply order: system before access before network ... before update.
    areas = [
        line.strip()
        for line in out.splitlines()
        if line.startswith("  ") and not line.startswith("    ")
    ]
    assert (
        areas.index("system")
        < areas.index("access")
        < areas.index("network")
        < areas.index("update")
    )


def test_plan_json_contract(cli, state_dir: Path, secrets_dir: Path) -> None:
    result = cli(
        "plan", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir, "--json"
    )
    assert result.code == 2
    doc = json.loads(result.out)
    assert set(doc) >= {"device", "backend", "changes", "patch", "summary"}
    assert doc["device"] == "press-line-07" and doc["backend"] == "sim"
    first = doc["changes"][0]
    assert set(first) == {"area", "path", "op", "before", "after", "sensitive", "risk", "reason"}
    paths = {c["path"]: c for c in doc["changes"]}
    wd = paths["watchdog.enabled"]
    assert (wd["op"], wd["before"], wd["after"], wd["risk"]) == (
        "replace",
        False,
        True,
        "disruptive",
    )
    assert "watchdog.timeoutSeconds" not in paths  # already 60 on a factory device
    assert paths["cloud.mqtt"]["after"]["password"] == "(sensitive)"
    ops = {p["op"] for p in doc["patch"]}
    assert ops <= {"add", "replace", "remove"} and all(
        p["path"].startswith("/") for p in doc["patch"]
    )
    s = doc["summary"]
    assert s["add"] + s["change"] + s["remove"] == len(doc["changes"])


def test_apply_without_tty_or_yes_refuses(cli, state_dir: Path, secrets_dir: Path) -> None:
    result = cli("apply", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert result.code == 1
    assert "stdin is not a terminal; pass --yes" in result.err
    assert cli("plan", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir).code == 2


def test_apply_json_and_history(cli, state_dir: Path, secrets_dir: Path) -> None:
    common = ("-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    doc = json.loads(cli("apply", *common, "--yes", "--json").out)
    assert doc["result"]["status"] == "applied"
    assert doc["result"]["applied"] == len(doc["plan"]["changes"])
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert [h["status"] for h in history] == ["applied"]
    assert history[0]["source"] == str(FULL) and history[0]["observedHash"]
    text = cli("history", "--state-dir", state_dir).out
    assert "applied" in text and str(FULL) in text


def test_rollback_returns_to_previous_spec(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    v1 = tmp_path / "v1.yaml"
    v1.write_text(
        "apiVersion: reconciler/v1\nkind: Device\n"
        "metadata: {name: rb, model: UNO-2484G}\n"
        "spec:\n  watchdog: {enabled: true, timeoutSeconds: 30}\n  leds: {0: 'on'}\n"
    )
    v2 = tmp_path / "v2.yaml"
    v2.write_text(v1.read_text().replace("timeoutSeconds: 30", "timeoutSeconds: 120"))
    for spec in (v1, v2):
        assert cli("apply", "-f", spec, "--state-dir", state_dir, "--yes").code == 0
    result = cli("rollback", "--state-dir", state_dir, "--yes")
    assert result.code == 0, result.text
    assert "~ watchdog.timeoutSeconds: 120 -> 30" in result.out
    assert result.out.endswith("Rolled back to the spec of apply #1.\n")
    assert cli("plan", "-f", v1, "--state-dir", state_dir).code == 0
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert history[0]["source"].startswith("rollback of ")


def test_rollback_to_an_apply_and_nothing_to_roll_back(
    cli, tmp_path: Path, state_dir: Path
) -> None:
    head = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: rb, model: UNO-2484G}\n"
    specs = []
    for seconds in (30, 60, 90):
        spec = tmp_path / f"v{seconds}.yaml"
        spec.write_text(head + f"spec:\n  watchdog: {{enabled: true, timeoutSeconds: {seconds}}}\n")
        specs.append(spec)
    first = cli("rollback", "--state-dir", state_dir, "--yes")
    assert first.code == 1
    assert "nothing to roll back to: fewer than two successful applies" in first.err
    assert cli("apply", "-f", specs[0], "--state-dir", state_dir, "--yes").code == 0
    alone = cli("rollback", "--state-dir", state_dir, "--yes")
    assert alone.code == 1 and "nothing to roll back to" in alone.err
    for spec in specs[1:]:
        assert cli("apply", "-f", spec, "--state-dir", state_dir, "--yes").code == 0
    missing = cli("rollback", "--state-dir", state_dir, "--yes", "--to", "99")
    assert missing.code == 1 and "apply #99 is not a successful apply in history" in missing.err
    assert cli("plan", "-f", specs[2], "--state-dir", state_dir).code == 0  # untouched
    back = cli("rollback", "--state-dir", state_dir, "--yes", "--to", "1")
    assert back.code == 0, back.text
    assert "~ watchdog.timeoutSeconds: 90 -> 30" in back.out
    assert "Rolled back to the spec of apply #1." in back.out
    assert cli("plan", "-f", specs[0], "--state-dir", state_dir).code == 0
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert history[0]["source"].startswith("rollback of ")


def test_invalid_spec_changes_nothing(cli, tmp_path: Path, state_dir: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: x, model: UNO-2484G}\n"
        "spec:\n  watchdog: {timeoutSeconds: 300}\n"
    )
    result = cli("apply", "-f", bad, "--state-dir", state_dir, "--yes")
    assert result.code == 1
    assert f"{bad}:5:30: spec.watchdog.timeoutSeconds:" in result.err
    assert "Traceback" not in result.err
    assert not (state_dir / "sim").exists() and not (state_dir / "history.db").exists()


def test_other_model_in_state_dir_is_a_clear_error(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = tmp_path / "aig.yaml"
    spec.write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: x, model: AIG-302}\n"
        "spec:\n  system: {hostname: x}\n"
    )
    first = cli("plan", "-f", FULL, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert first.code == 2 and "Plan for press-line-07 (sim backend)" in first.out, first.text
    assert (state_dir / "sim").is_dir()  # the state dir now holds a simulated UNO-2484G
    result = cli("plan", "-f", spec, "--state-dir", state_dir)
    assert result.code == 1
    assert "holds a simulated UNO-2484G, but the spec is for an AIG-302" in result.err


PRUNING = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: gw, model: UNO-2484G}}
spec:
  firewall:
    prune: true
    inbound: [{rules}]
"""


def test_prune_removes_only_the_rules_the_reconciler_created(
    cli, tmp_path: Path, state_dir: Path
) -> None:
    spec = tmp_path / "gw.yaml"
    common = ("-f", spec, "--state-dir", state_dir)
    rule = "{{name: {0}, port: {1}, protocol: tcp}}"
    spec.write_text(PRUNING.format(rules=", ".join(rule.format(*r) for r in [("a", 1), ("b", 2)])))
    assert cli("apply", *common, "--yes").code == 0
    spec.write_text(PRUNING.format(rules=rule.format("a", 1)))
    plan = json.loads(cli("plan", *common, "--json").out)
    assert [(c["op"], c["path"]) for c in plan["changes"]] == [("remove", "firewall.inbound[b]")]
    assert cli("apply", *common, "--yes").code == 0
    observed = json.loads(cli("observe", "--state-dir", state_dir, "--json").out)
    names = [r["name"] for r in observed["firewall"]["inbound"]]
    assert "a" in names and "b" not in names
    assert {"ssh", "https"} <= set(names)  # the factory's rules: never created, never pruned
    assert cli("plan", *common).code == 0
