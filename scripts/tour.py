"""Regenerate (or check) the README's tour transcripts by running the tour for real.

Every block between `<!-- tour:NAME -->` and `<!-- /tour -->` in README.md is the output of
running its commands, in order, in one bash session: a scratch directory holding copies
of `examples/` and `fleet/` (plus the tour's `bad.yaml` and `lock.yaml`), a fresh state
directory, `reconcile` from this checkout's .venv. Long outputs are cut as the README
shows them (`...`). Times are volatile and compared as `<time>`.

    .venv/bin/python scripts/tour.py           # check: exit 1 and a diff when README differs
    .venv/bin/python scripts/tour.py --write   # rewrite the blocks in README.md
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARK = "@@tour-step-done@@"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@dataclass(frozen=True)
class Step:
    """One command as the README shows it. `keep`: a pattern of the lines shown (each run
    of other lines becomes one `...`); `head`/`tail`: lines kept around a `...` cut;
    `shown`: False runs it without printing it (setup between blocks); `output`: False
    prints the command but not what it printed; `run`: False only shows it."""

    command: str
    keep: str | None = None
    head: int | None = None
    tail: int = 0
    shown: bool = True
    output: bool = True
    run: bool = True


PLAN = "reconcile plan --fleet fleet --device press-line-01"
SECRETS = "monitor-password fieldtech-password mqtt-password"
PLAN_SHOWN = (
    r"system\.(hostname|timezone)|access\.(roles\[viewer|users\[monitor|ssh)"
    r"|network\.interfaces\.eth0|firewall\.inbound|serial\.ports\.1|gpio|watchdog|cloud"
)

TOUR: dict[str, list[Step]] = {
    "validate": [Step("reconcile validate bad.yaml"), Step("reconcile validate examples/")],
    "plan": [
        Step("export RECONCILER_STATE_DIR=$(mktemp -d)   # a fresh simulated device"),
        Step(
            "mkdir -m 700 $RECONCILER_STATE_DIR/secrets  # STATE/secrets: the default --secrets-dir"
        ),
        Step(
            f"(umask 077; for s in {SECRETS}; do\n"
            "    head -c 18 /dev/urandom | base64 > $RECONCILER_STATE_DIR/secrets/$s; done)"
        ),
        Step(PLAN, keep=PLAN_SHOWN),
        Step("echo $?"),
        Step("reconcile apply --fleet fleet --device press-line-01 --yes", head=0, tail=1),
        Step(PLAN),
    ],
    "drift": [
        Step("reconcile sim set watchdog.timeoutSeconds 200      # an out-of-band change"),
        Step(PLAN),
    ],
    "lockout": [Step("reconcile plan -f lock.yaml", head=0, tail=1)],
    "history": [
        Step("reconcile apply --fleet fleet --device press-line-01 --yes", shown=False),
        Step("reconcile history"),
        Step("reconcile history --show 1        # the plan and each change's result", output=False),
        Step("reconcile rollback [--to ID] --yes # re-apply an earlier apply's spec", run=False),
    ],
    "init": [
        Step("reconcile init my-fleet --device gateway-01"),
        Step("reconcile fleet validate my-fleet"),
    ],
}

BAD_YAML = """\
apiVersion: reconciler/v1
kind: Device
metadata: {name: press-line-09, model: UNO-2484G}
spec:
  system:
    hostname: press-line-09
  watchdog: {enabled: true, timeoutSecs: 60}
  cloud:
    mqtt:
      host: broker.plant-a.example
      username: press-line-09
      clientId: press-line-09
      keepAliveSec: 5
"""

LOCK_YAML = """\
apiVersion: reconciler/v1
kind: Device
metadata: {name: press-line-01, model: UNO-2484G}
spec:
  firewall:
    inbound:   # the factory rule named ssh moved to another port: nothing lets tcp/22 in
      - {name: ssh, port: 8022, protocol: tcp, source: 10.0.0.0/8}
"""


def _script(steps: list[tuple[str, Step]]) -> str:
    """One bash session; after each step a marker line with its exit code ($? kept)."""
    lines = ["set -u"]
    for _, step in steps:
        if step.run:
            lines.append(step.command)
        lines.append(f'__rc=$?; echo "{MARK}"; (exit $__rc)')
    return "\n".join(lines) + "\n"


def _keep(lines: list[str], pattern: str) -> str:
    """A plan with only the changes matching `pattern` (and their areas' headers); one
    `  ...` where the rest was."""
    shown: list[str] = []
    header, dropped = None, False
    for line in lines:
        if re.fullmatch(r"  [a-z]+", line):
            header = line
        elif line.startswith("    "):
            if re.match(pattern, line.strip()[2:]):
                shown += [header] if header else []
                header = None
                shown.append(line)
            else:
                dropped = True
        else:
            if dropped and line.startswith("Plan:"):
                shown[-1:] = ["  ...", ""]
            shown.append(line)
    return "\n".join(shown) + "\n"


def _cut(text: str, step: Step) -> str:
    lines = text.splitlines()
    if step.keep is not None:
        return _keep(lines, step.keep)
    if step.head is None or len(lines) <= step.head + step.tail:
        return text
    kept = lines[: step.head] + ["..."] + (lines[-step.tail :] if step.tail else [])
    return "\n".join(kept) + "\n"


def run_tour(work: Path) -> dict[str, str]:
    """Every block's transcript, from one run of the whole tour in `work`."""
    for name in ("examples", "fleet"):
        shutil.copytree(REPO / name, work / name)
    (work / "bad.yaml").write_text(BAD_YAML)
    (work / "lock.yaml").write_text(LOCK_YAML)
    steps = [(block, step) for block, block_steps in TOUR.items() for step in block_steps]
    venv_bin = str(REPO / ".venv" / "bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(
        PATH=f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
        TMPDIR=str(work),
        COLUMNS="100",
    )
    proc = subprocess.run(
        ["bash", "-c", _script(steps)],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    outputs = proc.stdout.split(MARK + "\n")
    blocks: dict[str, str] = {name: "" for name in TOUR}
    for (block, step), output in zip(steps, outputs, strict=False):
        if not step.shown:
            continue
        blocks[block] += "$ " + step.command + "\n"
        if step.output:
            blocks[block] += _cut(output, step)
    return blocks


def _block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- tour:{name} -->\n```console\n)(.*?)(```\n<!-- /tour -->)", re.DOTALL)


def render(readme: str, blocks: dict[str, str]) -> str:
    for name, text in blocks.items():
        pattern = _block_pattern(name)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no block <!-- tour:{name} -->")
        readme = pattern.sub(lambda m, t=text: m.group(1) + t + m.group(3), readme)
    return readme


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's blocks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-tour-") as tmp:
        blocks = run_tour(Path(tmp))
    readme = README.read_text()
    new = render(readme, blocks)
    if args.write:
        README.write_text(new)
        return 0
    old_lines = TIME.sub("<time>", readme).splitlines(keepends=True)
    new_lines = TIME.sub("<time>", new).splitlines(keepends=True)
    diff = list(difflib.unified_diff(old_lines, new_lines, "README.md", "the tour, run now"))
    sys.stdout.writelines(diff)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
