"""Extract the platform portal reference's GET examples into a test fixture.

Reads every `GET ...` section of tests/reference/platform-portal-rest-api.txt and
writes tests/api/fixtures/portal-doc-examples.json: per GET its path, transport (http,
sse, websocket), the first 2xx response's status, media type and example body, and the
JSON bodies the doc shows for its error responses. The doc's examples are not strict
JSON (missing commas, `//` comments, `true | false`, `"...": ...`, values left out), so a
lenient parser reads them:

- `a | b` (alternatives) is the first alternative;
- a value left out (`"enabled": ,`) is null: the key is documented, its type is not;
- `...` in an array, and the `"...": ...` member of an object, are dropped (the test
  compares documented keys only, so "more keys may follow" needs no marker).

    .venv/bin/python scripts/portal_fixture.py           # check: exit 1 when stale
    .venv/bin/python scripts/portal_fixture.py --write   # rewrite the fixture
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "tests" / "reference" / "platform-portal-rest-api.txt"
FIXTURE = REPO / "tests" / "api" / "fixtures" / "portal-doc-examples.json"
HEADING = re.compile(r"^(GET|PUT|POST|DELETE|PATCH) (\S+)( \(SSE\))?\s*$")
STATUS = re.compile(r"^(\d{3}) ?(OK|No Content|Created|Unauthorized|Not Found|Bad Request)?")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
COMMENT_END = re.compile(r'[\n"}\]]')
ELLIPSIS = object()
"""`...` where a value belongs (dropped by the containers that hold it)."""


class NotJson(ValueError):
    """The text at this position is not a (lenient) JSON value."""


@dataclass
class Reader:
    """A lenient JSON reader over `text` from `pos`."""

    text: str
    pos: int = 0

    def skip(self) -> None:
        """Whitespace, and `//` comments up to the end of the line or the next `"`, `}`
        or `]` (the doc runs comments into the next member on one line)."""
        while self.pos < len(self.text):
            if self.text[self.pos].isspace():
                self.pos += 1
            elif self.text.startswith("//", self.pos):
                match = COMMENT_END.search(self.text, self.pos)
                self.pos = match.start() if match else len(self.text)
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self) -> Any:
        """One value, then any `| alternative` (the first one stands)."""
        first = self._single()
        while self.peek() == "|":
            self.pos += 1
            self._single()
        return first

    def _single(self) -> Any:
        char = self.peek()
        if char == "{":
            return self._object()
        if char == "[":
            return self._array()
        if char == '"':
            return self._string()
        if self.text.startswith("...", self.pos):
            self.pos += 3
            return ELLIPSIS
        if self.text.startswith("..", self.pos):
            self.pos += 2
            return ELLIPSIS
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return value
        match = NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return float(match.group()) if match.group(1) or match.group(2) else int(match.group())
        raise NotJson(f"no JSON value at {self.text[self.pos : self.pos + 20]!r}")

    def _string(self) -> str:
        """A string; an escape JSON lacks (`\\P` in a Windows path) stands for itself."""
        out, self.pos = [], self.pos + 1
        escapes = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t"}
        while self.pos < len(self.text) and self.text[self.pos] != '"':
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                out.append(escapes.get(nxt, "\\" + nxt))
                self.pos += 2
                continue
            out.append(char)
            self.pos += 1
        if self.pos >= len(self.text):
            raise NotJson("unterminated string")
        self.pos += 1
        return "".join(out)

    def _array(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while self.peek() not in ("]", ""):
            item = self.value()
            if item is not ELLIPSIS:
                items.append(item)
            if self.peek() == ",":
                self.pos += 1
        if self.peek() != "]":
            raise NotJson("unterminated array")
        self.pos += 1
        return items

    def _object(self) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        while self.peek() not in ("}", ""):
            if self.peek() != '"':
                raise NotJson(f"expected a key at {self.text[self.pos : self.pos + 20]!r}")
            key = self._string()
            if self.peek() != ":":
                raise NotJson(f"expected ':' after {key!r}")
            self.pos += 1
            value = None if self.peek() in (",", "}") else self.value()
            if key != "..." and value is not ELLIPSIS:
                out[key] = value
            if self.peek() == ",":
                self.pos += 1
        if self.peek() != "}":
            raise NotJson("unterminated object")
        self.pos += 1
        return out


def example_at(text: str) -> tuple[bool, Any]:
    """(found, value): a container may be followed by prose; a scalar must end its line
    (so `true -> logical high` is prose, `true | false -` a value)."""
    reader = Reader(text)
    try:
        value = reader.value()
    except NotJson:
        return False, None
    if value is ELLIPSIS:
        return False, None
    if isinstance(value, dict | list):
        return True, value
    rest = text[reader.pos :].split("\n", 1)[0].strip()
    return rest in ("", "-", ","), value


def body_of(block: str) -> tuple[str | None, Any]:
    """(media type, example) of one response block (the text after its status line);
    a `Body` that is not JSON is plain text (`pong`); (None, None) without an example."""
    block = block.replace("```json", "\n").replace("```", "\n")
    if "\nBody\n" in block:
        after = block.split("\nBody\n", 1)[1].strip().removesuffix("-").strip()
        found, value = example_at(after)
        return ("application/json", value) if found else ("text/plain", after.split("\n")[0])
    for start in [0] + [m.end() for m in re.finditer("\n", block)]:
        found, value = example_at(block[start:])
        if found:
            return "application/json", value
    media = re.search(r"Content-Type: (\S+)", block)
    return (media.group(1) if media else None), None


def responses(lines: list[str]) -> list[tuple[int, str]]:
    """(status, block text) of each response of a section, in order."""
    out: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        match = STATUS.match(line.strip())
        previous = lines[i - 1].strip() if i else ""
        if not match or previous not in ("Response", "-", "Response Codes"):
            continue
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("Response")),
            len(lines),
        )
        first = line.strip()[match.end() :]
        out.append((int(match.group(1)), "\n".join([first, *lines[i + 1 : end]])))
    return out


def normalise(raw: str) -> tuple[str, str]:
    """(path as routes write it, transport) of a heading's URL."""
    transport = "http"
    if raw.startswith("wss://"):
        transport = "websocket"
        raw = "/" + raw.split("/", 3)[3]
    raw = re.sub(r"\{\?\w+\}$", "", raw)
    return re.sub(r":(\w+)", r"{\1}", raw), transport


def section(heading: str, lines: list[str]) -> dict[str, Any]:
    """One GET: its path, transport, and examples."""
    match = HEADING.match(heading)
    assert match is not None
    path, transport = normalise(match.group(2))
    if match.group(3):
        transport = "sse"
    entry: dict[str, Any] = {"heading": heading.strip(), "path": path, "transport": transport}
    if transport == "sse":
        data = "\n".join(lines).split("data:", 1)
        found, value = example_at(data[1].strip()) if len(data) > 1 else (False, None)
        if found:
            entry["example"] = value
        events = [ln.strip()[2:] for ln in lines if re.fullmatch(r"- [a-z]+", ln.strip())]
        if events:
            entry["events"] = events
        return entry
    errors: dict[str, Any] = {}
    for status, block in responses(lines):
        media, value = body_of(block)
        if 200 <= status < 300 and "status" not in entry:
            entry["status"] = status
            if media is not None:
                entry["media"] = media
            if value is not None or media == "application/json":
                entry["example"] = value
        elif status >= 400 and isinstance(value, dict):
            errors.setdefault(str(status), value)
    if errors:
        entry["errors"] = errors
    return entry


def extract(text: str) -> list[dict[str, Any]]:
    """Every GET section of the doc, in the doc's order."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if HEADING.match(line)]
    out = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        if lines[start].startswith("GET "):
            out.append(section(lines[start], lines[start + 1 : end]))
    return out


def render(doc: Path = DOC) -> str:
    gets = extract(doc.read_text(encoding="utf-8"))
    body = {"source": "tests/reference/platform-portal-rest-api.txt", "gets": gets}
    return json.dumps(body, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the fixture")
    parser.add_argument("--doc", type=Path, default=DOC, help="the reference document")
    args = parser.parse_args(argv)
    text = render(args.doc)
    if args.write:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        tmp = FIXTURE.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(FIXTURE)
        print(f"wrote {FIXTURE.relative_to(REPO)}")
        return 0
    if FIXTURE.exists() and FIXTURE.read_text(encoding="utf-8") == text:
        return 0
    print(f"{FIXTURE.relative_to(REPO)} is stale: run {Path(__file__).name} --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
