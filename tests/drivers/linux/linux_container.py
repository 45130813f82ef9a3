"""A Debian container with systemd as PID 1 (systemd-nspawn --boot) for the linux driver
tests that need a real systemd: services, the watchdog setting, networkd DHCP, the
firewall unit at boot. Root only.

The root file system is built once with debootstrap into a cache outside the repository
(`CACHE/bookworm-<hash of the package list>`: built in a temporary directory under a lock,
renamed when complete, reused afterwards). Each boot runs on an overlay over it whose upper
directory belongs to the test, mounted in a private mount namespace (`unshare`), so nothing
is mounted on the host and the cached tree never changes. The host has no systemd of its
own here, so commands run inside through `nsenter` (not machinectl). The repository and the
Python installation are bound read-only at their own paths: the container runs the real
`reconcile` CLI of this checkout.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

SUITE = "bookworm"
PACKAGES = (
    *("systemd", "systemd-sysv", "dbus", "iproute2", "nftables", "openssh-server"),
    "systemd-resolved",  # DNS through resolved (its postinst makes resolv.conf the stub)
    "netbase",  # /etc/protocols: nft resolves ipv6-icmp through it (a minbase lacks it)
    "libsqlite3-0",  # the host's Python, bound in, links it for sqlite3 (the history)
)
SETUP = (
    # The reconciler, not systemd's default for containers, decides whether host0 uses DHCP.
    "ln -sf /dev/null /etc/systemd/network/80-container-host0.network",
)
CACHE = Path(os.environ.get("RECONCILER_TEST_CACHE", "/var/cache/reconciler-tests"))
TOOLS = ("debootstrap", "systemd-nspawn", "nsenter", "unshare", "ip", "dnsmasq", "ssh")
REPO = Path(__file__).resolve().parents[3]
BOOT_TIMEOUT = 120.0
"""Last resort only: a boot takes about a second, a poweroff one or two."""


def container_usable() -> str | None:
    """None when containers can be booted here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "systemd container tests need root (CI runs them as root)"
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make system-deps installs it)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlay file system"
    if Path(sys.base_prefix).resolve() == Path("/usr"):
        return "python lives in /usr: it cannot be bound into the container's /usr"
    return None


def mirror() -> str:
    """The host's Debian mirror (apt sources), else deb.debian.org."""
    found = []
    for path in sorted(Path("/etc/apt").glob("sources.list*")) + sorted(
        Path("/etc/apt/sources.list.d").glob("*")
    ):
        if path.is_file() and path.suffix in (".list", ".sources", ""):
            text = path.read_text(errors="replace")
            found += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", text, re.M)
            found += re.findall(r"^URIs:.*?\s(\S+/debian)/?(?:\s|$)", text, re.M)
    return found[0] if found else "http://deb.debian.org/debian"


def rootfs() -> Path:
    """The cached root file system, built first if missing (about a minute, 270 MB)."""
    key = hashlib.sha256(repr((SUITE, PACKAGES, SETUP)).encode()).hexdigest()[:12]
    final = CACHE / f"{SUITE}-{key}"
    if final.is_dir():
        return final
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building the same
        if final.is_dir():
            return final
        for stale in CACHE.glob(f".{final.name}.*"):  # a build that died (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = CACHE / f".{final.name}.{os.getpid()}"
        debootstrap(tmp)
        for step in SETUP:
            subprocess.run(["chroot", str(tmp), "sh", "-ec", step], check=True, timeout=60)
        tmp.rename(final)
    return final


def debootstrap(target: Path, attempts: int = 3) -> None:
    """Build the tree into `target`; a failed download is tried again from scratch."""
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}"]
    for attempt in range(1, attempts + 1):
        built = subprocess.run(
            [*argv, SUITE, str(target), mirror()], capture_output=True, text=True, timeout=1800
        )
        if built.returncode == 0:
            return
        shutil.rmtree(target, ignore_errors=True)
        if attempt == attempts:
            log = built.stdout[-3000:] + built.stderr
            raise RuntimeError(f"debootstrap failed {attempts} times, the last:\n{log}")


def wait_for(what: str, probe: Callable[[], object], timeout: float = BOOT_TIMEOUT) -> object:
    """Poll `probe` until it returns something true; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def init_of_a_namespace(pid: int) -> bool:
    """PID `pid` is PID 1 of a PID namespace below ours (a container's init)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    nspid = next(
        (line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), []
    )
    return len(nspid) > 1 and nspid[-1] == "1"


def python_binds() -> list[Path]:
    """Read-only binds that make this checkout's `reconcile` run inside: the repository,
    the venv and the Python it was made from (nested paths once)."""
    paths = sorted({REPO, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()})
    return [p for p in paths if not any(o != p and p.is_relative_to(o) for o in paths)]


class Container:
    """One container on its own overlay; `boot()` and `poweroff()` may repeat (a reboot
    keeps the upper directory, as a device keeps its disk)."""

    def __init__(self, lower: Path) -> None:
        self.lower = lower
        self.dir = Path(tempfile.mkdtemp(prefix="rt-nspawn-", dir="/var/tmp"))
        for sub in ("upper", "work", "root"):
            (self.dir / sub).mkdir()
        self.name = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.leader = 0

    @property
    def veth(self) -> str:
        """The host end of the container's veth (host0 inside)."""
        return f"ve-{self.name}"

    def boot(self) -> None:
        self.name = f"rt{uuid.uuid4().hex[:8]}"  # a fresh veth name: the old one may linger
        self.leader = 0
        d = self.dir
        opts = f"lowerdir={self.lower},upperdir={d / 'upper'},workdir={d / 'work'}"
        nspawn = ["systemd-nspawn", "-D", str(d / "root"), "--boot", f"--machine={self.name}"]
        nspawn += ["--network-veth", "--register=no", "--keep-unit", "--console=passive"]
        nspawn += [f"--bind-ro={p}" for p in python_binds()]
        script = 'mount -t overlay overlay -o "$1" "$2" && shift 2 && exec "$@"'
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
        with (d / f"boot-{self.name}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [*argv, opts, str(d / "root"), *nspawn],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.leader = int(str(wait_for("the container's PID 1", self._child)))
        wait_for("systemd to finish booting", self._booted)

    def _child(self) -> int | None:
        """The container's PID 1: nspawn's child that is PID 1 in a namespace of its own
        (at first nspawn's child is an intermediate process still in ours)."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"systemd-nspawn exited:\n{self.log()}")
        out = subprocess.run(
            ["ps", "--ppid", str(self.proc.pid), "-o", "pid="], capture_output=True, text=True
        )
        return next((int(p) for p in out.stdout.split() if init_of_a_namespace(int(p))), None)

    def _booted(self) -> bool:
        state = self.run("systemctl", "is-system-running", "--wait", check=False).stdout
        if state.strip() in ("running", "degraded"):
            return True
        assert self.proc is not None and self.proc.poll() is None, self.log()
        return False

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("boot-*.log")))

    def run(
        self, *argv: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside (all its namespaces, a clean environment); never on the
        host, should the container be gone."""
        assert init_of_a_namespace(self.leader), f"container {self.name} is not running"
        enter = ["nsenter", f"--target={self.leader}", "--mount", "--uts", "--ipc", "--net"]
        env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"]
        proc = subprocess.run(
            [*enter, "--pid", *env, "PYTHONDONTWRITEBYTECODE=1", *argv],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def write(self, path: str, text: str) -> None:
        """Write a file inside (through the container's root as PID 1 sees it)."""
        Path(f"/proc/{self.leader}/root{path}").write_text(text)

    def poweroff(self) -> None:
        """A clean poweroff (SIGRTMIN+4 to systemd); killed if it does not end in time."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if self.leader and init_of_a_namespace(self.leader):
            with suppress(ProcessLookupError):
                os.kill(self.leader, signal.SIGRTMIN + 4)
        try:
            proc.wait(timeout=BOOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            if init_of_a_namespace(self.leader):  # still ours: its namespace goes with it
                with suppress(ProcessLookupError):
                    os.kill(self.leader, signal.SIGKILL)
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=BOOT_TIMEOUT)
        with suppress(OSError):  # nspawn leaves this empty directory behind
            Path(f"/run/systemd/nspawn/propagate/{self.name}").rmdir()

    def remove(self) -> None:
        self.poweroff()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def booted(lower: Path) -> Iterator[Container]:
    """A booted container, powered off and removed afterwards whatever happens."""
    box = Container(lower)
    try:
        box.boot()
        yield box
    finally:
        box.remove()


def _host_end_in(ns: str, box: Container, subnet: str) -> None:
    """A new network namespace `ns` holding the host end of the container's veth, as
    `subnet`.1/24 (the host's own interfaces are never touched); the caller deletes it."""
    sh = ["ip", "-n", ns]
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    subprocess.run(["ip", "link", "set", box.veth, "netns", ns], check=True)
    subprocess.run([*sh, "addr", "add", f"{subnet}.1/24", "dev", box.veth], check=True)
    subprocess.run([*sh, "link", "set", box.veth, "up"], check=True)


@contextmanager
def dhcp_server(box: Container, subnet: str = "10.99.0") -> Iterator[str]:
    """dnsmasq serving DHCP on the host end of the container's veth, moved into a peer
    namespace of its own (the host's interfaces are not touched). Yields the namespace."""
    ns = f"rt-dhcp-{box.name}"
    leases = box.dir / f"leases-{box.name}"
    server: subprocess.Popen[bytes] | None = None
    try:
        _host_end_in(ns, box, subnet)
        with (box.dir / f"dnsmasq-{box.name}.log").open("wb") as log:
            server = subprocess.Popen(
                ["ip", "netns", "exec", ns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                 "--bind-interfaces", f"--interface={box.veth}", "--port=0", "--pid-file=",
                 f"--dhcp-range={subnet}.50,{subnet}.99,12h", f"--dhcp-leasefile={leases}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        yield ns
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextmanager
def ssh_path(box: Container, subnet: str = "10.98.0") -> Iterator[list[str]]:
    """sshd inside with a fresh root key, reachable at `subnet`.2 over the container's veth
    from a peer namespace of its own (as dhcp_server: the host's interfaces are not
    touched). Yields the ssh command line up to the remote command."""
    ns = f"rt-ssh-{box.name}"
    key = box.dir / f"id-{box.name}"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    box.run("mkdir", "-p", "-m", "700", "/root/.ssh")
    box.write("/root/.ssh/authorized_keys", key.with_suffix(".pub").read_text())
    box.run("systemctl", "enable", "--now", "ssh.service")
    box.run("ip", "addr", "add", f"{subnet}.2/24", "dev", "host0")
    box.run("ip", "link", "set", "host0", "up")
    try:
        _host_end_in(ns, box, subnet)
        opts = ("BatchMode=yes", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null")
        opts += ("LogLevel=ERROR", "ConnectTimeout=2", "ConnectionAttempts=1")
        yield [
            *("ip", "netns", "exec", ns, "ssh", "-F", "/dev/null", "-i", str(key)),
            *(f"-o{o}" for o in opts),
            f"root@{subnet}.2",
        ]
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
