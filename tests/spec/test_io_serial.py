"""io and serial areas: valid documents load, invalid ones fail at the exact YAML position."""

from __future__ import annotations

import textwrap

import pytest

from reconciler.loader import Problem, parse_document, validate_device_document

# The body starts on line 5 and is indented two columns under `spec:`.
HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: %s}\nspec:\n"


def problems(body: str, model: str = "AIG-302") -> list[Problem]:
    text = HEAD % model + textwrap.indent(textwrap.dedent(body), "  ")
    _, found = validate_device_document(parse_document(text, "f.yaml"))
    return found


def assert_only(found: list[Problem], line: int, col: int, path: str, fragment: str) -> None:
    assert len(found) == 1, [str(p) for p in found]
    p = found[0]
    assert (p.line, p.col, p.path) == (line, col, path), str(p)
    assert fragment in p.message, str(p)


def test_valid_io_and_serial_normalise_doc_spellings() -> None:
    text = HEAD % "AIG-302" + textwrap.indent(
        textwrap.dedent(
            """\
            io:
              di:
                1: {mode: di, autoSampling: true, pollingIntervalSec: 10}
                2: {pollingIntervalSec: 3600}
              do:
                1: {state: ON, initialState: off}
                2: {mode: do, state: true}
            serial:
              ports:
                1: {mode: rs485-2w, baudRate: 9600, parity: none, dataBits: 8, stopBits: 1}
                2: {mode: rs4854w, baudRate: 921600, parity: Even, dataBits: 5, stopBits: 1.5,
                    flowControl: software}
            """
        ),
        "  ",
    )
    spec, found = validate_device_document(parse_document(text, "f.yaml"))
    assert found == []
    assert spec is not None and spec.spec.io is not None and spec.spec.serial is not None
    assert spec.spec.io.do is not None
    assert (spec.spec.io.do[1].state, spec.spec.io.do[2].state) == ("on", "on")
    ports = spec.spec.serial.model_dump(by_alias=True, exclude_unset=True)["ports"]
    assert ports[1]["stopBits"] == 1 and isinstance(ports[1]["stopBits"], int)
    assert ports[2] == {
        "mode": "rs485-4w",
        "baudRate": 921600,
        "parity": "even",
        "dataBits": 5,
        "stopBits": 1.5,
        "flowControl": "xon-xoff",
    }


@pytest.mark.parametrize(
    ("body", "model", "where", "fragment"),
    [
        pytest.param(
            "io:\n  di:\n    3: {pollingIntervalSec: 10}\n",
            "AIG-302",
            (7, 10, "spec.io.di.3"),
            "AIG-302 has DI channels 1..2",
            id="di-beyond-profile",
        ),
        pytest.param(
            "io:\n  do:\n    0: {state: on}\n",
            "AIG-302",
            (7, 10, "spec.io.do.0"),
            "DO channels 1..2 (channels start at 1)",
            id="do-channel-zero",
        ),
        pytest.param(
            "io:\n  do:\n    1: {state: on}\n",
            "UNO-2484G",
            (7, 10, "spec.io.do.1"),
            "UNO-2484G has no DO channels",
            id="model-without-io",
        ),
        pytest.param(
            "io:\n  di:\n    1: {pollingIntervalSec: 4}\n",
            "AIG-302",
            (7, 31, "spec.io.di.1.pollingIntervalSec"),
            "greater than or equal to 5",
            id="polling-too-fast",
        ),
        pytest.param(
            "io:\n  do:\n    1: {state: high}\n",
            "AIG-302",
            (7, 18, "spec.io.do.1.state"),
            "'on' or 'off'",
            id="do-state-enum",
        ),
        pytest.param(
            "io:\n  do:\n    1: {initStatus: on}\n",
            "AIG-302",
            (7, 11, "spec.io.do.1.initStatus"),
            "did you mean 'initialState'?",
            id="doc-field-name-suggests-ours",
        ),
        pytest.param(
            "serial:\n  ports:\n    3: {mode: rs232}\n",
            "AIG-302",
            (7, 10, "spec.serial.ports.3"),
            "AIG-302 has serial ports 1, 2",
            id="port-beyond-profile",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {baudRate: 9601}\n",
            "AIG-302",
            (7, 21, "spec.serial.ports.1.baudRate"),
            "115200, 230400, 460800 or 921600",
            id="non-standard-baud",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {mode: rs485}\n",
            "AIG-302",
            (7, 17, "spec.serial.ports.1.mode"),
            "'rs232', 'rs422', 'rs485-2w' or 'rs485-4w'",
            id="mode-enum",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {stopBits: 3}\n",
            "AIG-302",
            (7, 21, "spec.serial.ports.1.stopBits"),
            "stop bits must be 1, 1.5 or 2, not 3",
            id="stop-bits",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {dataBits: 9}\n",
            "AIG-302",
            (7, 21, "spec.serial.ports.1.dataBits"),
            "5, 6, 7 or 8",
            id="data-bits",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {stopBits: 1.5, dataBits: 8}\n",
            "AIG-302",
            (7, 21, "spec.serial.ports.1.stopBits"),
            "1.5 stop bits need 5 data bits (dataBits is 8)",
            id="one-and-a-half-stop-bits",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {mode: rs485-2w, flowControl: rts-cts}\n",
            "AIG-302",
            (7, 40, "spec.serial.ports.1.flowControl"),
            "rts-cts flow control needs rs232 or rs422 mode, not rs485-2w",
            id="rts-cts-on-rs485",
        ),
        pytest.param(
            "serial:\n  ports:\n    1: {parity: sometimes}\n",
            "AIG-302",
            (7, 19, "spec.serial.ports.1.parity"),
            "'none', 'odd', 'even', 'mark' or 'space'",
            id="parity-enum",
        ),
    ],
)
def test_invalid(body: str, model: str, where: tuple[int, int, str], fragment: str) -> None:
    assert_only(problems(body, model), *where, fragment)
