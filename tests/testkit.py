"""Helpers the tests share (importable as `testkit`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from reconciler.loader import Problem, parse_document, validate_device_document
from reconciler.spec.device import DeviceSpec

REPO = Path(__file__).resolve().parent.parent
VENV_RECONCILE = REPO / ".venv" / "bin" / "reconcile"

SECRETS = {
    "monitor-password": "Mon1tor-Secret-Value-77",
    "plant-a-wifi": "wifi-psk-Secret-Value-88",
    "mqtt-password": "mqtt-Secret-Value-99",
    "operator-password": "Operator-Secret-Value-66",
    "sim-pin": "90357261",  # 8 digits: a shorter one turns up inside metric values
    "apn-password": "apn-Secret-Value-55",
    "ap-psk": "ap-psk-Secret-Value-44",
    "cloud-client-cert": "client-cert-Secret-Value-33",
    "cloud-client-key": "client-key-Secret-Value-22",
    "hub-connection": "HostName=hub.example;SharedAccessKey=hub-Secret-Value-11",
    "site-vpn-profile": "client\nremote vpn.plant-a.example 1194\n<key>vpn-Key-Secret-33</key>",
    "disk-key": "disk-Secret-Value-22",
    "iothub-connection": "HostName=hub.example;SharedAccessKey=iothub-Secret-Value-12",
    "edge-ca": "edge-ca-Secret-Value-13",
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def reconcile_cmd() -> list[str]:
    """The installed entry point when present (what users run), else this interpreter."""
    if VENV_RECONCILE.exists():
        return [str(VENV_RECONCILE)]
    return [sys.executable, "-m", "reconciler.cli"]


def need_tool(name: str, package: str) -> str:
    """The path of `name`; skips with the Debian package to install, but fails under CI
    (CI installs every SYSTEM_PACKAGES entry, so a skip there would hide a broken setup)."""
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        reason = f"needs {name} (Debian: apt-get install {package}; `make system-deps`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(extra)
    return env


# --- spec tests: validate a document body and check where each problem points -----------

HEADER = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: %s}\nspec:\n"
"""The body starts on line 5 of the file."""


@dataclass
class Validated:
    spec: DeviceSpec | None
    problems: list[Problem]
    lines: list[str]

    def at(self, index: int, line: int, token: str, path: str, fragment: str = "") -> None:
        """Problem `index` is on `line`, at the column where `token` first occurs there."""
        problem = self.problems[index]
        text = self.lines[line - 1]
        assert token in text, f"{token!r} is not on line {line}: {text!r}"
        assert (problem.line, problem.col, problem.path) == (line, text.index(token) + 1, path), (
            f"{problem} (line {line}: {text!r})"
        )
        assert fragment in problem.message


def validate(body: str, model: str = "AIG-302") -> Validated:
    text = HEADER % model + textwrap.indent(textwrap.dedent(body), "  ")
    spec, problems = validate_device_document(parse_document(text, "f.yaml"))
    assert (spec is None) == bool(problems)
    return Validated(spec, sorted(problems, key=lambda p: (p.line, p.col)), text.splitlines())


def one_problem(body: str, model: str = "AIG-302") -> Validated:
    result = validate(body, model)
    assert len(result.problems) == 1, "\n".join(map(str, result.problems))
    return result


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certs(root: Path) -> Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256)."""
    root.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True, timeout=60)

    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=reconciler test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    for name, cn, ext in (
        ("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                "extendedKeyUsage=serverAuth\n"),
        ("client", "edge-device", "extendedKeyUsage=clientAuth\n"),
    ):  # fmt: skip
        (root / f"{name}.ext").write_text(ext)
        openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                "-extfile", f"{name}.ext")  # fmt: skip
    for path in root.glob("*.key"):
        path.chmod(0o600)
    return Certs(
        root / "ca.crt",
        root / "server.crt",
        root / "server.key",
        root / "client.crt",
        root / "client.key",
    )
