"""`reconcile serve --backend portal`: the status endpoint's read APIs reflect the unit."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
from portalkit import Unit, write_secret
from testkit import SECRETS, reconcile_cmd, subprocess_env

ACCOUNTS = """\
apiVersion: reconciler/v1
kind: Device
metadata: {name: unit-1, model: UNO-2484G}
spec:
  access:
    roles:
      - {name: viewer, permissions: ["status:read"]}
    users:
      - name: monitor
        roles: [viewer]
        password: {secretRef: monitor-password}
"""


def test_serve_reads_the_unit_through_the_portal(unit: Unit, tmp_path: Path) -> None:
    spec = tmp_path / "accounts.yaml"
    spec.write_text(ACCOUNTS)
    write_secret(tmp_path / "secrets", "monitor-password", SECRETS["monitor-password"])
    unit.device.wdt["timeoutInSeconds"] = 77
    unit.device.leds[5] = True
    proc = subprocess.Popen(
        [*reconcile_cmd(), "serve", "--listen", "127.0.0.1:0", "-f", str(spec), *unit.args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert "Serving the status endpoint on " in line, line + proc.stderr.read()
        url = line.split(" on ", 1)[1].split()[0]
        with httpx.Client(base_url=url, timeout=60) as c:
            login = c.get("/auth/token", auth=("monitor", SECRETS["monitor-password"]))
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            wdt = c.get("/platform/api/perif/wdt", headers=headers)
            assert wdt.status_code == 200, wdt.text
            assert wdt.json()["timeoutInSeconds"] == 77
            leds = c.get("/platform/api/perif/led", headers=headers).json()
            assert leds[5] is True and leds[0] is False
            host = c.get("/platform/api/host/info", headers=headers).json()
            assert host["deviceName"] == "UNO-2484G-673xAE"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert unit.device.writes == []
    assert "p@ssw0rd" not in out + err
