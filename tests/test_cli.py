"""The command line as a whole: the real parser, every command the README names, help texts,
mistyped commands, a light start."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from testkit import REPO, reconcile_cmd, subprocess_env

from reconciler.cli import build_parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for name, child in _subcommands(parser).items():
        found += _walk(child, (*path, name))
    return found


def readme_commands() -> list[str]:
    """Every `reconcile ...` the README shows: console lines, sh lines and inline code."""
    text = (REPO / "README.md").read_text()
    lines = re.findall(r"^\$ (reconcile .*)$", text, re.M)
    lines += re.findall(r"^(reconcile [a-z].*)$", text, re.M)
    lines += [" ".join(m.split()) for m in re.findall(r"`(reconcile [^`]*)`", text)]
    lines += re.findall(r"<\((reconcile [^)]*)\)", text)  # source <(reconcile completion bash)
    # `reconcile suspend | resume`: each alternative is a command of its own
    alternatives = [f"reconcile {m}" for m in re.findall(r"reconcile [a-z-]+ \| ([a-z-]+)", text)]
    return sorted(set(lines + alternatives))


def command_path(line: str) -> tuple[str, ...]:
    """The subcommands a README line names, resolved against the real parser."""
    parser: argparse.ArgumentParser = build_parser()
    path: list[str] = []
    for word in line.split()[1:]:
        children = _subcommands(parser)
        if word not in children:
            break
        path.append(word)
        parser = children[word]
    return tuple(path)


def test_the_readme_names_commands() -> None:
    lines = readme_commands()
    assert len(lines) > 20
    assert any(line.startswith("reconcile modbus serve") for line in lines)


@pytest.mark.parametrize("line", readme_commands())
def test_every_readme_command_exists_and_has_help(line: str) -> None:
    path = command_path(line)
    assert path, f"the README names a command the parser does not have: {line!r}"
    run = subprocess.run(
        [*reconcile_cmd(), *path, "--help"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"usage: reconcile {' '.join(path)}"), run.stdout


def test_every_command_runs_something_and_every_option_has_help() -> None:
    for path, parser in _walk(build_parser()):
        if not path:
            continue
        if not _subcommands(parser):
            assert parser.get_default("func") is not None, f"{path} has no handler"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help, f"reconcile {' '.join(path)}: {action.dest} has no help text"


def test_a_mistyped_command_gets_a_suggestion() -> None:
    run = subprocess.run(
        [*reconcile_cmd(), "plna", "--file", "x.yaml"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert run.returncode == 2
    assert "invalid choice: 'plna'; did you mean 'plan'?" in run.stderr
    nested = subprocess.run(
        [*reconcile_cmd(), "fleet", "valdate", "fleet"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert nested.returncode == 2
    assert "did you mean 'validate'?" in nested.stderr


def test_building_the_parser_imports_no_heavy_stack() -> None:
    """`validate` and `plan` start fast: no web stack, git, Modbus or MQTT at parse time."""
    code = (
        "import sys; from reconciler.cli import build_parser; build_parser()\n"
        "heavy = ('starlette', 'uvicorn', 'git', 'pymodbus', 'paho', 'httpx', 'pydantic')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["apply", "rollback"])
def test_ctrl_d_at_the_prompt_cancels(command: str, cli, tmp_path) -> None:
    """End of input (Ctrl-D) at the confirmation prompt is a plain "cancelled", exit 1."""
    import os
    import pty

    state = tmp_path / "state"
    minimal = REPO / "examples" / "minimal.yaml"
    args = ["--state-dir", str(state)]
    if command == "rollback":  # two applies to roll back between
        assert cli("apply", "-f", minimal, *args, "--yes").code == 0
        assert cli("sim", *args, "set", "system.hostname", "drifted").code == 0
        assert cli("apply", "-f", minimal, *args, "--yes").code == 0
        assert cli("sim", *args, "set", "system.hostname", "again").code == 0
    else:
        args += ["-f", str(minimal)]
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*reconcile_cmd(), command, *args],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(NO_COLOR="1"),
    )
    os.close(secondary)
    try:
        os.write(primary, b"\x04")  # what the terminal sends for Ctrl-D at a line's start
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(primary)
    assert proc.returncode == 1, err
    assert b"Only 'yes' is accepted" in out
    assert out.rstrip().endswith(b"Apply cancelled.")
    assert b"unexpected" not in err and b"Traceback" not in err


def test_sim_takes_state_dir_anywhere_and_refuses_what_the_model_cannot_hold(cli, tmp_path) -> None:
    state = str(tmp_path / "state")
    assert cli("sim", "--model", "UNO-2484G", "--state-dir", state, "reset").code == 0
    after = cli("sim", "set", "--state-dir", state, "watchdog.timeoutSeconds", "200")
    assert after.code == 0, after.err
    assert after.out == "set watchdog.timeoutSeconds on the simulated device (out of band)\n"
    named = cli("sim", "set", "spec.access.users[admin].enabled", "false", "--state-dir", state)
    assert named.out.startswith("set access.users[admin].enabled "), named.err
    pin = cli("sim", "--state-dir", state, "set", "gpio.pins.42", "{direction: output}")
    assert pin.code == 1
    assert pin.err == (
        "error: the simulated UNO-2484G cannot hold that: gpio.pins.42: UNO-2484G has pins 0..7\n"
    )
    assert (
        "outside UNO-2484G's watchdog range 10..255"
        in cli("sim", "--state-dir", state, "set", "watchdog.timeoutSeconds", "999").err
    )
    typo = cli("sim", "--state-dir", state, "set", "watchdg.enabled", "true")
    assert typo.code == 1 and "did you mean 'watchdog.enabled'?" in typo.err
    observed = cli("observe", "--state-dir", state, "--json")
    import json

    data = json.loads(observed.out)
    assert data["watchdog"]["timeoutSeconds"] == 200  # refused values changed nothing
    assert "42" not in data["gpio"]["pins"]
    assert data["access"]["users"][0]["enabled"] is False


def test_sim_fault_areas_and_clear(cli, tmp_path) -> None:
    state = str(tmp_path / "state")
    assert cli("sim", "--model", "UNO-2484G", "--state-dir", state, "reset").code == 0
    with pytest.raises(SystemExit) as usage:
        cli("sim", "--state-dir", state, "fault", "netwrk", "once")
    assert usage.value.code == 2
    injected = cli("sim", "fault", "network", "always", "--state-dir", state)
    assert injected.out == "fault injected: network fails always\n"
    cleared = cli("sim", "fault", "network", "clear", "--state-dir", state)
    assert cleared.out == "fault cleared: network applies normally again\n"
    minimal = REPO / "examples" / "minimal.yaml"
    assert cli("apply", "-f", minimal, "--state-dir", state, "--yes").code == 0


def test_status_before_the_first_apply_says_none_yet(tmp_path) -> None:
    """An agent whose source is not a fleet repo fails its pass; nothing was applied."""
    state, source = tmp_path / "state", tmp_path / "empty"
    source.mkdir()
    once = ["--device", "gw", "--once", "--state-dir", str(state), "--log-level", "error"]
    agent = subprocess.run(
        [*reconcile_cmd(), "agent", "--source", str(source), *once],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert agent.returncode == 1, agent.stderr
    status = subprocess.run(
        [*reconcile_cmd(), "status", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert "last good:     none yet\n" in status.stdout
    assert "None" not in status.stdout


def _complete(script: str, *words: str) -> list[str]:
    """What bash offers for `reconcile WORDS...<TAB>` with the generated script loaded."""
    line = " ".join(f"'{w}'" for w in ("reconcile", *words))
    program = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _reconcile; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    run = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return run.stdout.split()


def test_bash_completion_from_the_real_parser() -> None:
    script = subprocess.run(
        [*reconcile_cmd(), "completion", "bash"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
    ).stdout
    assert _complete(script, "fl") == ["fleet"]
    assert _complete(script, "fleet", "ex") == ["explain"]
    assert _complete(script, "modbus", "") == ["serve"]
    assert _complete(script, "plan", "--sta") == ["--state-dir"]
    assert _complete(script, "plan", "--backend", "") == ["sim", "linux", "portal"]
    assert "watchdog" in _complete(script, "sim", "fault", "")
    zsh = subprocess.run(
        [*reconcile_cmd(), "completion", "zsh"], capture_output=True, text=True, check=True
    ).stdout
    assert zsh.startswith("#compdef reconcile\n") and "bashcompinit" in zsh
    assert script in zsh


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reconcile_cmd(), *args], capture_output=True, text=True, env=subprocess_env(), timeout=120
    )


def test_init_refuses_a_device_name_that_cannot_be_a_host_name(tmp_path) -> None:
    made = _run("init", str(tmp_path / "plant"), "--device", "7press", "--model", "AIG-302")
    assert made.returncode == 1
    assert "it is also the host name, which starts with a letter" in made.stderr
    assert not (tmp_path / "plant").exists()


def test_init_scaffolds_a_fleet_repo_that_validates_and_plans(tmp_path) -> None:
    import stat

    from ruamel.yaml import YAML

    root = tmp_path / "plant"
    made = _run("init", str(root), "--device", "press-01", "--model", "AIG-302")
    assert made.returncode == 0, made.stderr
    assert "chmod 700" in made.stdout and f"reconcile fleet validate {root}" in made.stdout
    valid = _run("fleet", "validate", str(root), "--strict")
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.endswith("1 devices, 1 groups: 0 errors, 0 warnings: valid\n")
    secrets = root / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    assert stat.S_IMODE((secrets / "monitor-password").stat().st_mode) == 0o600
    assert "secrets/" in (root / ".gitignore").read_text().split()
    for ci in (root / ".github/workflows/fleet.yml", root / ".pre-commit-config.yaml"):
        assert "reconcile fleet validate" in str(YAML(typ="safe").load(ci.read_text()))
    plan = _run(
        "plan", "--fleet", str(root), "--device", "press-01", "--state-dir", str(tmp_path / "s"),
        "--secrets-dir", str(secrets),
    )  # fmt: skip
    assert plan.returncode == 2, plan.stderr
    assert "Plan for press-01 (sim backend):" in plan.stdout
    before = sorted(p.read_bytes() for p in root.rglob("*") if p.is_file())
    again = _run("init", str(root))
    assert again.returncode == 1
    assert again.stderr == f"error: {root} already holds a fleet (fleet.yaml); nothing written\n"
    assert sorted(p.read_bytes() for p in root.rglob("*") if p.is_file()) == before
