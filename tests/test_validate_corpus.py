"""`reconcile validate` on the invalid corpus and the examples, run as a user runs it.

Every file in tests/corpus/invalid/ starts with a comment stating one problem the command
must report: `# expect: LINE:COL dotted.path: message fragment` (an empty path, for
file-level problems, is written `# expect: 3:1 : fragment`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus" / "invalid"
EXAMPLES = REPO / "examples"
CORPUS_FILES = sorted(CORPUS.glob("*.yaml"))
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@dataclass(frozen=True)
class Expectation:
    line: int
    col: int
    path: str
    fragment: str

    def found_in(self, output: str, file: Path | str) -> bool:
        """Whether a printed problem line is at this place, with this path and message."""
        prefix = f"{file}:{self.line}:{self.col}: "
        if self.path:
            prefix += f"{self.path}: "
        return any(
            line.startswith(prefix) and self.fragment in line[len(prefix) :]
            for line in output.splitlines()
        )


def expectation(path: Path) -> Expectation:
    """Parse the first line; it stays readable even where later bytes are not UTF-8."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return expectation_of(first)


def expectations(path: Path) -> list[Expectation]:
    """Every `# expect:` line at the top: a file may hold several problems that one run
    must all report (schema, capability and cross-field alike)."""
    first_lines = path.read_bytes().split(b"\n")
    count = next(i for i, line in enumerate(first_lines) if not line.startswith(b"# expect: "))
    lines = b"\n".join(first_lines[1:count]).decode("utf-8").splitlines()
    return [expectation(path), *(expectation_of(line) for line in lines)]


def expectation_of(first: str) -> Expectation:
    where, _, rest = first.removeprefix("# expect: ").partition(" ")
    line, _, col = where.partition(":")
    dotted, sep, fragment = rest.partition(": ")
    assert sep and fragment, f"expected 'LINE:COL path: fragment', got {first!r}"
    return Expectation(int(line), int(col), dotted, fragment)


def test_the_corpus_is_large_enough_to_mean_something() -> None:
    assert len(CORPUS_FILES) >= 40
    assert len(EXAMPLE_FILES) >= 6


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_invalid_file_is_reported_at_its_location(cli: Callable[..., Any], path: Path) -> None:
    result = cli("validate", path)
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    for want in expectations(path):
        assert want.found_in(result.err, path), (
            f"expected {want.line}:{want.col} {want.path}: ...{want.fragment}... in:\n{result.err}"
        )
    assert "1 file(s) checked" in result.err and result.err.rstrip().endswith("invalid.")


def test_file_over_the_size_limit_is_refused(cli: Callable[..., Any], tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    header = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: big, model: UNO-2484G}\n"
    padding = "# " + "x" * 97 + "\n"  # 100 bytes a line, still valid YAML
    big.write_text(header + padding * (1024 * 1024 // 100 + 1))
    assert big.stat().st_size > 1024 * 1024
    result = cli("validate", big)
    assert result.code == 1
    assert "Traceback" not in result.text
    assert Expectation(1, 1, "", "larger than 1024 KiB").found_in(result.err, big), result.err


def test_examples_are_valid(cli: Callable[..., Any]) -> None:
    result = cli("validate", EXAMPLES)
    assert result.code == 0, result.text
    assert result.err == ""
    assert f"{len(EXAMPLE_FILES)} file(s) checked, 0 error(s): valid." in result.out


def test_every_example_declares_the_schema_for_editors() -> None:
    for path in EXAMPLE_FILES:
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/device.schema.json", path


REPORT_KEYS = {"valid", "files", "skipped", "errors", "problems"}
PROBLEM_KEYS = {"file", "line", "col", "path", "message", "severity"}


def test_json_output_of_valid_files(cli: Callable[..., Any]) -> None:
    result = cli("validate", "--format", "json", EXAMPLES)
    assert result.code == 0
    report = json.loads(result.out)
    assert set(report) == REPORT_KEYS
    assert report["valid"] is True
    assert (report["files"], report["errors"], report["problems"]) == (len(EXAMPLE_FILES), 0, [])
    assert not {str(p) for p in EXAMPLE_FILES} & set(report["skipped"])


def test_json_output_locates_each_problem(cli: Callable[..., Any]) -> None:
    path = CORPUS / "watchdog-timeout-uno.yaml"
    want = expectation(path)
    result = cli("validate", "--format", "json", path)
    assert result.code == 1
    assert "Traceback" not in result.text
    report = json.loads(result.out)
    assert set(report) == REPORT_KEYS
    assert (report["valid"], report["files"], report["errors"]) == (False, 1, 1)
    [problem] = report["problems"]
    assert set(problem) == PROBLEM_KEYS
    assert problem["file"] == str(path)
    assert (problem["line"], problem["col"], problem["path"]) == (want.line, want.col, want.path)
    assert want.fragment in problem["message"]
    assert problem["severity"] == "error"


def test_directory_of_valid_and_invalid_files_reports_every_file_in_one_run(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    repo = tmp_path / "specs"
    (repo / "line-a").mkdir(parents=True)
    shutil.copy(EXAMPLES / "minimal.yaml", repo / "minimal.yaml")
    shutil.copy(EXAMPLES / "modbus-gateway.yaml", repo / "line-a" / "gateway.yml")
    broken = {
        repo / "a-watchdog.yaml": CORPUS / "watchdog-timeout-aig.yaml",
        repo / "line-a" / "b-syntax.yaml": CORPUS / "syntax-found-character.yaml",
        repo / "line-a" / "c-pin.yml": CORPUS / "gpio-pin-9.yaml",
        repo / "z-empty.yaml": CORPUS / "empty-file.yaml",
    }
    for dest, src in broken.items():
        shutil.copy(src, dest)

    result = cli("validate", repo)

    assert result.code == 1
    assert "Traceback" not in result.text
    for dest, src in broken.items():
        want = expectation(src)
        assert want.found_in(result.err, dest), f"{dest.name} not reported:\n{result.err}"
    assert "minimal.yaml" not in result.text and "gateway.yml" not in result.text
    assert "6 file(s) checked, 4 error(s): invalid." in result.err

    report = json.loads(cli("validate", "--format", "json", repo).out)
    assert report["files"] == 6
    assert {p["file"] for p in report["problems"]} == {str(d) for d in broken}


def test_several_paths_on_the_command_line(cli: Callable[..., Any]) -> None:
    bad = CORPUS / "undefined-role.yaml"
    result = cli("validate", EXAMPLES / "minimal.yaml", bad, EXAMPLES / "wifi-access-point.yaml")
    assert result.code == 1
    assert expectation(bad).found_in(result.err, bad)
    assert "3 file(s) checked, 1 error(s): invalid." in result.err


SCHEMA_ERRORS = """\
apiVersion: reconciler/v1
kind: Device
metadata:
  name: press-line-07
  model: UNO-2484G
spec:
  system:
    hostname: press_line
  watchdog:
    enabled: yes-please
  serial:
    ports:
      1: {mode: rs485, baudRate: 9600}
  cloud:
    mqtt: {host: broker.example.com, keepAliveSec: 5, topicPrefix: a/#}
  leds: {0: blink}
  sevices: {ssh: running}
"""

CAPABILITY_ERRORS = """\
apiVersion: reconciler/v1
kind: Device
metadata:
  name: press-line-07
  model: UNO-2484G
spec:
  watchdog: {enabled: true, timeoutSeconds: 300}
  gpio:
    pins:
      9: {direction: input}
  serial:
    ports:
      3: {mode: rs232}
  network:
    interfaces:
      eth0: {dhcp: false, address: 10.0.7.20/24, gateway: 10.0.9.1}
  access:
    users:
      - {name: monitor, roles: [viewer]}
      - {name: monitor, roles: [admin]}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            SCHEMA_ERRORS,
            [
                Expectation(8, 15, "spec.system.hostname", "invalid host name label"),
                Expectation(10, 14, "spec.watchdog.enabled", "valid boolean"),
                Expectation(13, 17, "spec.serial.ports.1.mode", "Input should be 'rs232'"),
                Expectation(15, 52, "spec.cloud.mqtt.keepAliveSec", "greater than or equal"),
                Expectation(15, 68, "spec.cloud.mqtt.topicPrefix", "MQTT wildcard"),
                Expectation(16, 13, "spec.leds.0", "Input should be 'on' or 'off'"),
                Expectation(17, 3, "spec.sevices", "did you mean 'services'?"),
            ],
        ),
        (
            CAPABILITY_ERRORS,
            [
                Expectation(7, 45, "spec.watchdog.timeoutSeconds", "watchdog range 10..255"),
                Expectation(10, 10, "spec.gpio.pins.9", "UNO-2484G has pins 0..7"),
                Expectation(13, 10, "spec.serial.ports.3", "has serial ports 1, 2"),
                Expectation(16, 59, "spec.network.interfaces.eth0.gateway", "outside eth0's"),
                Expectation(19, 33, "spec.access.users.0.roles.0", "undefined role 'viewer'"),
                Expectation(20, 16, "spec.access.users.1.name", "duplicate name 'monitor'"),
            ],
        ),
    ],
    ids=["schema", "capabilities"],
)
def test_every_problem_of_a_file_in_one_run(
    cli: Callable[..., Any], tmp_path: Path, text: str, expected: list[Expectation]
) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(text)
    result = cli("validate", path)
    assert result.code == 1
    assert "Traceback" not in result.text
    missing = [w for w in expected if not w.found_in(result.err, path)]
    assert not missing, f"not reported: {missing}\n{result.err}"
    printed = [line.split(":")[1:3] for line in result.err.splitlines()[:-1]]
    assert printed == sorted(printed, key=lambda lc: (int(lc[0]), int(lc[1]))), "not in file order"
    assert f"1 file(s) checked, {len(expected)} error(s): invalid." in result.err
