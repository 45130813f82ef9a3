"""Apply on a fake root: system identity and accounts. Account tools run for real against
the fake root's /etc (shadow-utils --prefix), never against this machine's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from linux_converge import SECRETS, converge, plan, secrets
from linux_fakehost import ED25519, FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.linux.runner import SubprocessRunner
from reconciler.engine.credentials import verify_password
from reconciler.errors import DeviceError

HASH = "$6$rounds=5000$abcdefgh$" + "a" * 86
LONGEST = "press-line-07-" + "x" * 34 + ".plant-a.example"
"""64 characters, dotted: the longest host name the gateway doc allows."""


def test_system_identity(backend: LinuxBackend, machine: FakeMachine) -> None:
    desired = {
        "hostname": "press-line-07",
        "description": "Press line 7",
        "timezone": "Europe/Berlin",
        "ntp": ["ntp1.plant-a.example", "pool.ntp.org"],
    }
    assert converge(backend, "system", desired) == []
    assert machine.read("/etc/hostname") == "press-line-07\n"
    assert "127.0.1.1\tpress-line-07" in machine.read("/etc/hosts")
    assert "localhost" in machine.read("/etc/hosts")
    assert machine.path("/etc/localtime").readlink().as_posix().endswith("Europe/Berlin")
    assert machine.read("/proc/sys/kernel/hostname") == "press-line-07\n"  # `hostname` ran


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("hostname", "bad_name", "invalid host name"), ("timezone", "Mars/Base", "not installed")],
)
def test_system_refuses_bad_values_before_writing(
    backend: LinuxBackend, machine: FakeMachine, field: str, value: str, message: str
) -> None:
    changes = plan(backend, "system", {field: value})
    with pytest.raises(DeviceError, match=message):
        backend.driver("system").apply(changes, secrets)
    assert machine.read("/etc/hostname") == "gw-01\n"


def test_users_roles_keys_and_passwords(backend: LinuxBackend, machine: FakeMachine) -> None:
    desired = {
        "roles": [{"name": "viewer", "permissions": ["status:read"]}],
        "users": [
            {
                "name": "monitor",
                "description": "Monitoring",
                "roles": ["viewer"],
                "password": {"secretRef": "monitor-password"},
                "sshAuthorizedKeys": [ED25519],
            },
            {"name": "ops", "roles": ["admin", "viewer"], "passwordHash": HASH, "enabled": False},
        ],
    }
    assert converge(backend, "access", desired) == []
    passwd = machine.read("/etc/passwd")
    assert "monitor:x:" in passwd and ":Monitoring:" in passwd
    group = machine.read("/etc/group")
    assert "viewer:x:" in group and "dialout:x:20:ops" in group  # non-role groups are kept
    shadow = {line.split(":")[0]: line.split(":") for line in machine.read("/etc/shadow").split()}
    assert verify_password(SECRETS["monitor-password"], shadow["monitor"][1])
    assert shadow["ops"][1] == HASH and shadow["ops"][7] == "1"  # expired = disabled
    keys = machine.path("/home/monitor/.ssh/authorized_keys")
    assert keys.read_text() == ED25519 + "\n" and keys.stat().st_mode & 0o777 == 0o600


def test_pruned_user_is_deleted(backend: LinuxBackend, machine: FakeMachine) -> None:
    converge(backend, "access", {"users": [{"name": "tmpuser", "roles": ["admin"]}]})
    assert "tmpuser:" in machine.read("/etc/passwd")
    from reconciler.engine.planner import plan_changes

    observed = backend.driver("access").observe()
    changes = plan_changes(
        {"access": {"prune": True, "users": [{"name": "ops"}]}},
        {"access": observed},
        secrets=secrets,
        inventory=[("access.users", "tmpuser")],
    )
    assert [c.op for c in changes] == ["remove"]
    backend.driver("access").apply(changes, secrets)
    assert "tmpuser:" not in machine.read("/etc/passwd")
    assert "ops:" in machine.read("/etc/passwd")


def test_undefined_role_is_refused(backend: LinuxBackend, machine: FakeMachine) -> None:
    changes = plan(backend, "access", {"users": [{"name": "x1", "roles": ["ghost"]}]})
    with pytest.raises(DeviceError, match="no role 'ghost'"):
        backend.driver("access").apply(changes, secrets)
    assert "x1:" not in machine.read("/etc/passwd")


def test_a_doc_user_name_linux_cannot_hold_is_refused_with_the_reason(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    """The gateway doc allows `Ops.Lead@plant-a`; a Linux account cannot be named so."""
    changes = plan(backend, "access", {"users": [{"name": "Ops.Lead@plant-a"}]})
    with pytest.raises(DeviceError, match="cannot be a Linux account: the linux backend takes"):
        backend.driver("access").apply(changes, secrets)
    assert "Ops.Lead" not in machine.read("/etc/passwd")


def test_sshd_dropin_and_password_policy(backend: LinuxBackend, machine: FakeMachine) -> None:
    desired = {
        "ssh": {"port": 2222, "passwordAuthentication": False},
        "passwordPolicy": {"lengthMin": 12, "atLeastOneDigit": True},
    }
    assert converge(backend, "access", desired) == []
    dropin = machine.read("/etc/ssh/sshd_config.d/10-reconciler.conf")
    assert "Port 2222" in dropin and "PasswordAuthentication no" in dropin
    assert "minlen = 12" in machine.read("/etc/security/pwquality.conf.d/50-reconciler.conf")


def test_unsupported_access_settings_say_so(backend: LinuxBackend) -> None:
    changes = plan(backend, "access", {"authLock": {"enable": True}})
    with pytest.raises(DeviceError, match=r"does not manage access\.authLock"):
        backend.driver("access").apply(changes, secrets)


def test_hostname_goes_through_hostnamed_under_systemd(machine: FakeMachine, tmp_path) -> None:
    """With systemd and hostnamectl, systemd-hostnamed sets the kernel's name: the agent's
    unit need not keep CAP_SYS_ADMIN (examples/systemd)."""
    from linux_fakehost import TOOLS

    from reconciler.drivers.linux.context import LinuxOptions
    from reconciler.drivers.linux.runner import FakeRunner

    runner = FakeRunner(machine.handle, tools=(*TOOLS, "hostnamectl"))
    backend = LinuxBackend.open(
        tmp_path / "state", None, root=machine.root, runner=runner, options=LinuxOptions()
    )
    assert converge(backend, "system", {"hostname": "press-line-07"}) == []
    assert "hostnamectl set-hostname --static --transient press-line-07" in runner.commands()
    assert not any(c.startswith("hostname ") for c in runner.commands())
    assert machine.read("/etc/hostname") == "press-line-07\n"


@pytest.mark.parametrize(
    ("etc", "running", "observed"),
    [
        ("gw-01", "old-name", "gw-01 (running as old-name)"),  # someone ran `hostname`
        ("old-name", "gw-01", "old-name (running as gw-01)"),  # someone edited the file
    ],
)
def test_drift_of_either_host_name_is_a_change(
    backend: LinuxBackend, machine: FakeMachine, etc: str, running: str, observed: str
) -> None:
    machine.write("/etc/hostname", etc + "\n")
    machine.write("/proc/sys/kernel/hostname", running + "\n")
    assert backend.driver("system").observe()["hostname"] == observed
    changes = plan(backend, "system", {"hostname": "gw-01"})
    assert [(c.dotted, c.before, c.after) for c in changes] == [
        ("system.hostname", observed, "gw-01")
    ]
    assert converge(backend, "system", {"hostname": "gw-01"}) == []
    assert machine.read("/etc/hostname") == "gw-01\n"
    assert machine.read("/proc/sys/kernel/hostname") == "gw-01\n"


def test_password_policy_writes_only_what_the_spec_sets(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    """Keys the spec leaves out keep the host's values: no `ocredit = 0` written back."""
    machine.write("/etc/security/pwquality.conf", "ucredit = -1\nlcredit = -1\nocredit = -1\n")
    assert converge(backend, "access", {"passwordPolicy": {"lengthMin": 12}}) == []
    dropin = machine.read("/etc/security/pwquality.conf.d/50-reconciler.conf")
    assert "minlen = 12" in dropin
    assert "credit" not in dropin, dropin
    policy = backend.driver("access").observe()["passwordPolicy"]
    assert policy["atLeastOneSpecial"] and policy["mixedUpperLowerLetters"]  # the host's own
    desired = {"passwordPolicy": {"lengthMin": 12, "atLeastOneDigit": True}}
    assert converge(backend, "access", desired) == []
    dropin = machine.read("/etc/security/pwquality.conf.d/50-reconciler.conf")
    assert "minlen = 12" in dropin and "dcredit = -1" in dropin  # kept, and the new key
    assert "ocredit" not in dropin and "ucredit" not in dropin


def test_a_dotted_host_name_converges(backend: LinuxBackend, machine: FakeMachine) -> None:
    """The whole name is observed, not its first label, or a dotted one never converges."""
    assert converge(backend, "system", {"hostname": LONGEST}) == []
    assert machine.read("/etc/hostname") == LONGEST + "\n"
    assert machine.read("/proc/sys/kernel/hostname") == LONGEST + "\n"


def test_a_name_past_the_kernels_limit_is_refused_with_the_reason(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    changes = plan(backend, "system", {"hostname": LONGEST + "x"})
    with pytest.raises(DeviceError, match="65 characters; Linux takes at most 64"):
        backend.driver("system").apply(changes, secrets)
    assert machine.read("/etc/hostname") == "gw-01\n"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a UTS namespace needs root and unshare (util-linux)",
)
def test_the_kernel_takes_the_longest_name_the_doc_allows(tmp_path: Path) -> None:
    """sethostname(2) for real, in a UTS namespace of its own (this machine's name is not
    touched): the doc's 64 characters are within Linux's HOST_NAME_MAX."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("gw-01\n")
    runner = SubprocessRunner(("unshare", "--uts"))
    backend = LinuxBackend.open(tmp_path / "state", None, root, runner, LinuxOptions(guard=False))
    assert converge(backend, "system", {"hostname": LONGEST}) == []
    assert (root / "etc/hostname").read_text() == LONGEST + "\n"


def test_a_description_with_shell_characters_reads_back_the_same(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    """512 characters of one line may hold quotes, backslashes, `$` and backquotes: the
    driver reads them back as written, and so does a shell sourcing /etc/machine-info."""
    description = 'Press "line" 7 \\ $HOME `id` ' + "d" * 484
    assert len(description) == 512
    assert converge(backend, "system", {"description": description}) == []
    script = '. "$1"; printf %s "$PRETTY_HOSTNAME"'
    sourced = subprocess.run(
        ["sh", "-c", script, "sh", machine.path("/etc/machine-info")],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert sourced.stdout == description
