"""Property-based fuzzing shared by tests/test_fuzz.py (a bounded run) and bench/fuzz.py (a
longer one): documents and fleet repos mutated from the examples, raw HTTP requests for the
status endpoint's routes. Every input must end in a located error or a valid result."""

from __future__ import annotations

import json
import socket
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from reconciler.api.routes import OPERATIONS
from reconciler.fleet.source import DirSource
from reconciler.fleet.validate import validate_source
from reconciler.loader import SpecError, parse_document, validate_device_document

REPO = Path(__file__).resolve().parent.parent
SEEDS = [parse_document(p.read_text(), p.name).data for p in sorted(REPO.glob("examples/*.yaml"))]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["yes", "on", "0x10", "1e3", "~", "-", "*:*", "a" * 300, "\u202e", ""])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*here, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out += _paths(child, (*here, i))
    return out


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {**node, head: _replace(node[head], rest, value)}
    copy = list(node)
    copy[head] = _replace(copy[head], rest, value)
    return copy


@st.composite
def documents(draw: st.DrawFn) -> str:
    """YAML text: an example with some nodes replaced (types, unicode, sizes, nesting),
    then maybe a line duplicated (duplicate keys) or characters inserted."""
    data: Any = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        data = _replace(data, path, draw(values))
    text = json.dumps(
        data, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2]))
    )
    lines = text.splitlines() or [""]
    mutation = draw(st.sampled_from(["none", "duplicate", "insert"]))
    at = draw(st.integers(0, len(lines) - 1))
    if mutation == "duplicate":
        lines.insert(at, lines[at])
    elif mutation == "insert":
        column = draw(st.integers(0, len(lines[at])))
        noise = draw(st.text(min_size=1, max_size=8))
        lines[at] = lines[at][:column] + noise + lines[at][column:]
    return "\n".join(lines) + "\n"


def check_document(text: str) -> None:
    """A valid spec, or problems that each have a place and a message; nothing else."""
    try:
        spec, problems = validate_device_document(parse_document(text, "f.yaml"))
    except SpecError as exc:
        problems, spec = list(exc.problems), None
    assert (spec is None) == bool(problems)
    for problem in problems:
        assert problem.file == "f.yaml" and problem.line >= 1 and problem.col >= 1, problem
        assert problem.message.strip(), problem


def check_fleet(devices: list[str], groups: list[str]) -> None:
    """A fleet root of these documents validates to a report; every problem is located."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "devices").mkdir()
        (root / "groups").mkdir()
        (root / "fleet.yaml").write_text("apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n")
        for i, text in enumerate(devices):
            (root / "devices" / f"dev-{i}.yaml").write_text(text)
        for i, text in enumerate(groups):
            (root / "groups" / f"group-{i}.yaml").write_text(text)
        report = validate_source(DirSource(root), jobs=1)
        for problem in report.problems:
            assert problem.file and problem.line >= 0 and problem.message.strip(), problem


ROUTES = sorted({op.path for op in OPERATIONS})
header_names = st.sampled_from(
    ["Authorization", "Accept", "Cookie", "Content-Length", "Transfer-Encoding", "Host", "X-A"]
) | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)


@st.composite
def http_requests(draw: st.DrawFn) -> bytes:
    """One raw HTTP/1.1 request: a route (its parameters filled at random) or junk, any
    method, query, headers and a body."""
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "G\tT"]))
    path = draw(st.sampled_from(ROUTES))
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        filler = draw(st.text(alphabet="abc019-%./~", max_size=12))
        path = path[:start] + filler + path[end + 1 :]
    query = draw(st.text(alphabet="abcmt=&%0129?", max_size=20))
    target = path + ("?" + query if query else "")
    headers = draw(st.lists(st.tuples(header_names, st.text(max_size=60)), max_size=6))
    body = draw(st.binary(max_size=200))
    head = f"{method} {target} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + body


def check_request(port: int, raw: bytes) -> int | None:
    """Send `raw`; the status answered (never 5xx), or None if the server closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return None
    if not answer:
        return None
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    status = int(answer[9:12])
    assert status < 500, answer[:300]
    return status
