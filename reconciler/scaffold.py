"""`reconcile init DIR`: a new fleet repo that validates, with its CI and pre-commit hook.

It holds fleet.yaml (defaults and policy), one site group, one device, a secrets
directory kept out of Git (0700, one 0600 file per secret the specs name, each a generated
placeholder to replace), a CI workflow and a pre-commit config. Nothing is overwritten:
a directory that already holds a fleet is refused.
"""

from __future__ import annotations

import re
import secrets as random_tokens
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import OperationError
from reconciler.fsutil import atomic_write

SECRET_NAMES = ("monitor-password",)
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

_FLEET = """\
# Fleet-wide defaults: every device starts from this spec, then its groups (by priority),
# then its own file in devices/.
apiVersion: reconciler/v1
kind: Fleet
metadata:
  name: {fleet}
policy:
  siteLabel: site
  requiredLabels: [site]
  requireSiteGroup: true        # every device is in its site's group
spec:
  system:
    timezone: UTC
    ntp: [pool.ntp.org]
  watchdog: {{enabled: true, timeoutSeconds: 60}}
  access:
    roles:
      - {{name: viewer, description: Dashboards, permissions: ["status:read"]}}
    users:
      - name: monitor
        description: Read-only account for dashboards
        roles: [viewer]
        password: {{secretRef: monitor-password}}   # the file secrets/monitor-password
"""

_GROUP = """\
# Settings of one site: every device labelled site: {site}.
apiVersion: reconciler/v1
kind: Group
metadata:
  name: {site}
  description: Site {site}
selector: {{site: {site}}}
priority: 10
spec:
  system:
    ntp: [pool.ntp.org]
"""

_DEVICE = """\
apiVersion: reconciler/v1
kind: Device
metadata:
  name: {device}
  model: {model}
  labels: {{site: {site}}}
spec:
  system:
    hostname: {device}
"""

_SECRETS_README = """\
One file per secret the specs name ({{secretRef: NAME}} reads the file NAME), mode 0600, in
a directory of mode 0700. The values here are generated placeholders: replace each with the
real secret. This directory is in .gitignore: secrets never go into Git. If you copy it:

    chmod 700 secrets && chmod 600 secrets/*

On a device, keep them in STATE/secrets (e.g. /var/lib/reconciler/secrets) or pass
--secrets-dir DIR to plan, apply, serve and agent.
"""

_WORKFLOW = """\
# Validate every device on each push and pull request (see examples/ci in the reconciler
# repository for annotations, a JUnit report and the blast radius of a pull request).
name: fleet
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python -m pip install reconciler
      - run: reconcile fleet validate .
"""

_PRE_COMMIT = """\
# Validate the fleet before each commit (pre-commit install), so CI rarely rejects a push.
repos:
  - repo: local
    hooks:
      - id: reconcile-fleet-validate
        name: reconcile fleet validate
        entry: reconcile fleet validate
        language: system
        pass_filenames: false
        args: ["."]
        files: (^|/)(fleet\\.yaml|groups/[^/]+\\.ya?ml|devices/[^/]+\\.ya?ml)$
"""


@dataclass(frozen=True)
class Scaffold:
    """What `init` wrote, for the command to list."""

    root: Path
    files: tuple[Path, ...]
    secrets_dir: Path


def create_fleet_repo(root: Path, device: str, model: str, site: str) -> Scaffold:
    """Write a new fleet repo into `root` (created if missing); refuse an existing fleet."""
    for what, name in (("device", device), ("site", site)):
        if not _NAME.fullmatch(name):
            raise OperationError(f"invalid {what} name {name!r}: use a-z, 0-9 and '-'")
    if not device[0].isalpha():
        raise OperationError(
            f"invalid device name {device!r}: it is also the host name, which starts with a "
            "letter (the gateway doc's rule)"
        )
    if (root / "fleet.yaml").exists():
        raise OperationError(f"{root} already holds a fleet (fleet.yaml); nothing written")
    values = {"fleet": root.resolve().name or "fleet", "device": device, "model": model}
    values["site"] = site
    files = {
        "fleet.yaml": _FLEET.format(**values),
        f"groups/{site}.yaml": _GROUP.format(**values),
        f"devices/{device}.yaml": _DEVICE.format(**values),
        ".github/workflows/fleet.yml": _WORKFLOW,
        ".pre-commit-config.yaml": _PRE_COMMIT,
        ".gitignore": "secrets/\n",
        "secrets/README": _SECRETS_README,
    }
    written = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode())
        written.append(path)
    secrets_dir = root / "secrets"
    secrets_dir.chmod(0o700)
    for name in SECRET_NAMES:
        path = secrets_dir / name
        atomic_write(path, (random_tokens.token_urlsafe(18) + "\n").encode(), mode=0o600)
        written.append(path)
    return Scaffold(root, tuple(written), secrets_dir)
