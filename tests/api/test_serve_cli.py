"""`reconcile serve` as users run it: a subprocess on a free loopback port, HTTPS with
--tls-cert/--tls-key, clear errors, SIGTERM ends it with exit 0; and the web stack stays
out of `reconcile validate`."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from apikit import PASSWORDS, UNO, apply_spec, write_secrets
from cryptography import x509
from testkit import Result, reconcile_cmd, subprocess_env

Start = Callable[..., tuple[subprocess.Popen[str], str]]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Start]:
    """Start `reconcile serve ARGS` on 127.0.0.1:0; returns the process and its URL."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [*reconcile_cmd(), "serve", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "Serving the status endpoint on " in line, line + proc.stderr.read()  # type: ignore[union-attr]
        return proc, line.split(" on ", 1)[1].split()[0]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def common(tmp_path: Path) -> list[str]:
    secrets = write_secrets(tmp_path / "secrets")
    apply_spec(UNO, tmp_path / "state", secrets)
    return ["-f", str(UNO), "--state-dir", str(tmp_path / "state"), "--secrets-dir", str(secrets)]


def test_serve_answers_and_stops_on_sigterm(server: Start, tmp_path: Path) -> None:
    proc, url = server(*common(tmp_path), "--cache-seconds", "0.5")
    assert url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/auth/ping").text == "pong"
        token = c.get("/auth/token", auth=("monitor", PASSWORDS["monitor"])).json()["token"]
        status = c.get("/reconciler/api/status", headers={"Authorization": f"Bearer {token}"})
        assert status.status_code == 200 and status.json()["syncState"] == "Synced"
        cert = x509.load_pem_x509_certificate(c.get("/auth/certificate").content)
        assert jwt.decode(token, cert.public_key(), algorithms=["ES256"])["sub"] == "monitor"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Status endpoint stopped." in out
    assert "Traceback" not in err


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl (Debian: openssl)")
def test_serve_tls(server: Start, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    proc, url = server(*common(tmp_path), "--tls-cert", str(cert), "--tls-key", str(key))
    assert url.startswith("https://127.0.0.1:")
    trusted = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=url, verify=trusted, timeout=30) as c:
        response = c.get("/auth/token", auth=("monitor", PASSWORDS["monitor"]))
        assert response.status_code == 200
        assert "Secure" in response.headers["set-cookie"]
        auth = {"Authorization": f"Bearer {response.json()['token']}"}
        wdt = c.get("/platform/api/perif/wdt", headers=auth)
        assert wdt.status_code == 200
    with pytest.raises(httpx.ConnectError), httpx.Client(base_url=url, timeout=30) as c:
        c.get("/auth/ping")  # an untrusted certificate is refused by the client
    proc.terminate()
    assert proc.wait(60) == 0


def test_serve_errors_are_one_sentence(cli: Callable[..., Result], tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "state"), "-f", str(UNO)]
    only_cert = cli("serve", *state, "--tls-cert", str(tmp_path / "c.pem"))
    assert only_cert.code == 1 and "needs both --tls-cert and --tls-key" in only_cert.err
    (tmp_path / "c.pem").write_text("not a certificate")
    (tmp_path / "k.pem").write_text("not a key")
    files = ["--tls-cert", str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")]
    bad = cli("serve", *state, *files)
    assert bad.code == 1 and "cannot use TLS certificate" in bad.err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = cli("serve", *state, "--listen", f"127.0.0.1:{port}")
    assert taken.code == 1 and f"cannot listen on 127.0.0.1:{port}" in taken.err
    for result in (only_cert, bad, taken):
        assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("listen", "reason"),
    [
        ("127.0.0.1:99999", "HOST:PORT with a port within 0..65535"),
        ("127.0.0.1:x", "HOST:PORT with a port within 0..65535"),
        ("a:b:c", "HOST:PORT or [IPv6]:PORT"),
    ],
)
def test_bad_listen_is_a_usage_error(
    cli: Callable[..., Result], capsys: pytest.CaptureFixture[str], listen: str, reason: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("serve", "--listen", listen)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --listen: expected {reason}" in err and repr(listen) in err


def test_serve_help_lists_the_options(
    cli: Callable[..., Result], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("serve", "--help")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--listen", "--tls-cert", "--tls-key", "--cache-seconds", "--token-ttl",
        "--max-header-bytes", "--max-body-bytes", "--header-timeout",
        "--keep-alive-timeout", "--max-connections", "--rate-limit", "--rate-burst",
    ):  # fmt: skip
        assert option in out


def test_validate_does_not_load_the_web_stack(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from reconciler.cli import main\n"
        f"assert main(['validate', {str(UNO)!r}]) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'anyio', 'httptools', 'uvloop'))\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
