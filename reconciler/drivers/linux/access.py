"""access area: OS accounts (useradd/usermod/userdel, chpasswd -e), roles as groups (the
built-in admin role is the sudo group), ssh keys, an sshd drop-in, and pwquality rules.

Account enablement is the account expiry date (`usermod -e 1` disables every login, keys
included, unlike a password lock). Role permissions and the order of a user's roles live
in /etc/reconciler/roles.json; membership itself is the groups in /etc/group.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after, touched
from reconciler.drivers.linux.facts import accounts, config
from reconciler.drivers.linux.files import (
    MANAGED_HEADER,
    dropins,
    restore,
    snapshot,
    with_dropins,
)
from reconciler.engine.change import Change, is_secret_ref
from reconciler.engine.credentials import hash_password
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

ROLES_FILE = "/etc/reconciler/roles.json"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/10-reconciler.conf"
PWQUALITY_DROPIN = "/etc/security/pwquality.conf.d/50-reconciler.conf"
POLICY_KEYS: dict[str, tuple[str, ...]] = {
    "lengthMin": ("minlen",),
    "atLeastOneDigit": ("dcredit",),
    "atLeastOneSpecial": ("ocredit",),
    "mixedUpperLowerLetters": ("ucredit", "lcredit"),
}
"""passwordPolicy's keys and the pwquality settings each stands for."""
UNSUPPORTED = ("authLock", "sessions", "httpServer")
UNSUPPORTED_POLICY = ("enableReminder", "reminderFrequencyDay")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


class AccessDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    # -- observe ---------------------------------------------------------------------

    def admin_group(self, groups: list[dict[str, Any]]) -> str:
        if self.ctx.options.admin_group:
            return self.ctx.options.admin_group
        names = {g["name"] for g in groups}
        return "wheel" if "sudo" not in names and "wheel" in names else "sudo"

    def roles_file(self) -> dict[str, Any]:
        text = self.host.read(ROLES_FILE)
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            raise DeviceError(f"{ROLES_FILE} is not valid JSON") from None
        return {"roles": data.get("roles", []), "assignments": data.get("assignments", {})}

    def database(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        h = self.host
        return (
            accounts.passwd(h.read("/etc/passwd") or ""),
            accounts.group(h.read("/etc/group") or ""),
            accounts.shadow(h.read("/etc/shadow") or ""),
        )

    def observe(self) -> dict[str, Any]:
        users, groups, shadow = self.database()
        stored = self.roles_file()
        roles = [r for r in stored["roles"] if any(g["name"] == r["name"] for g in groups)]
        role_groups = {r["name"] for r in roles}
        admin = self.admin_group(groups)
        defs = accounts.login_defs(self.host.read("/etc/login.defs") or "")
        uid_min = int(defs.get("UID_MIN", "1000"))
        today = int(time.time() // 86400)
        out_users = []
        for user in users:
            member = {g["name"] for g in groups if user["name"] in g["members"]}
            held = (["admin"] if admin in member else []) + sorted(member & role_groups)
            if not (uid_min <= user["uid"] < 60000 or held):
                continue
            order = stored["assignments"].get(user["name"], [])
            held = [r for r in order if r in held] + [r for r in held if r not in order]
            sh = shadow.get(user["name"], {})
            expire = sh.get("expireDay")
            entry: dict[str, Any] = {
                "name": user["name"],
                "enabled": expire is None or expire > today,
                "roles": held,
                "description": user["gecos"].split(",")[0],
                "sshAuthorizedKeys": accounts.authorized_keys(
                    self.host.read(f"{user['home']}/.ssh/authorized_keys") or ""
                ),
            }
            if sh.get("passwordHash"):
                entry["passwordHash"] = sh["passwordHash"]
            out_users.append(entry)
        out: dict[str, Any] = {"roles": roles, "users": out_users}
        ssh = self.ssh()
        if ssh:
            out["ssh"] = ssh
        policy = self.password_policy()
        if policy is not None:
            out["passwordPolicy"] = policy
        return out

    def ssh(self) -> dict[str, Any]:
        h = self.host
        if not h.exists("/etc/ssh/sshd_config"):
            return {}
        # Debian's sshd_config includes sshd_config.d/*.conf first; the first value wins.
        conf = config.sshd_config(
            [*dropins(h, "/etc/ssh/sshd_config.d"), h.read("/etc/ssh/sshd_config") or ""]
        )
        out: dict[str, Any] = {
            "port": int(conf.get("port", "22")),
            "passwordAuthentication": conf.get("passwordauthentication", "yes") == "yes",
        }
        if h.systemd_running():
            state = h.run(["systemctl", "is-active", "ssh"], check=False).stdout.strip()
            out["enable"] = state == "active"
        return out

    def password_policy(self) -> dict[str, Any] | None:
        texts = with_dropins(
            self.host, "/etc/security/pwquality.conf", "/etc/security/pwquality.conf.d"
        )
        if not texts:
            return None
        kv = config.key_values(texts)

        def required(key: str) -> bool:
            return int(kv.get(key, "0") or 0) < 0

        return {
            "lengthMin": int(kv.get("minlen", "8") or 8),
            "atLeastOneDigit": required("dcredit"),
            "atLeastOneSpecial": required("ocredit"),
            "mixedUpperLowerLetters": required("ucredit") and required("lcredit"),
        }

    # -- apply -----------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        for key in UNSUPPORTED:
            if touched(changes, key):
                raise DeviceError(f"the linux backend does not manage access.{key}")
        for key in UNSUPPORTED_POLICY:
            if touched(changes, "passwordPolicy", key):
                raise DeviceError(f"the linux backend does not manage passwordPolicy.{key}")
        current = self.observe()
        want = desired_after("access", current, changes)
        self.validate(want)
        if touched(changes, "roles") or touched(changes, "users"):
            self.apply_roles(current, want)
        if touched(changes, "users"):
            self.apply_users(current, want, changes, secrets)
        if touched(changes, "ssh"):
            self.apply_ssh(want["ssh"])
        if touched(changes, "passwordPolicy"):
            self.apply_policy(want["passwordPolicy"], _policy_keys(changes))

    def validate(self, want: dict[str, Any]) -> None:
        roles = {"admin"} | {r["name"] for r in want.get("roles") or []}
        for user in want.get("users") or []:
            if not _USER.match(user["name"]):
                raise DeviceError(
                    f"user {user['name']!r} cannot be a Linux account: the linux backend "
                    "takes 1-32 lower-case letters, digits, '_', '.' or '-', starting with "
                    "a letter or '_' (the gateway doc's wider names fit the sim and portal)"
                )
            for role in user.get("roles") or []:
                if role not in roles:
                    raise DeviceError(f"user {user['name']}: no role {role!r}")
            for key in user.get("sshAuthorizedKeys") or []:
                if "\n" in key or len(key.split()) < 2:
                    raise DeviceError(f"user {user['name']}: malformed ssh key")
        port = (want.get("ssh") or {}).get("port")
        if port is not None and not 1 <= int(port) <= 65535:
            raise DeviceError(f"ssh port {port} is outside 1..65535")

    def shadow_tool(self, *argv: str) -> list[str]:
        """A shadow-utils command, pointed at the root prefix when it is not `/`."""
        prefix = [] if self.host.is_live_root else ["-P", str(self.host.root)]
        return [argv[0], *prefix, *argv[1:]]

    def apply_roles(self, current: dict[str, Any], want: dict[str, Any]) -> None:
        _, groups, _ = self.database()
        existing = {g["name"] for g in groups}
        wanted = {r["name"] for r in want.get("roles") or []}
        for name in sorted(wanted - existing):
            self.host.run(self.shadow_tool("groupadd", name))
        for role in current.get("roles") or []:
            if role["name"] not in wanted:
                self.host.run(self.shadow_tool("groupdel", role["name"]), check=False)
        assignments = {u["name"]: list(u.get("roles") or []) for u in want.get("users") or []}
        data = {"roles": want.get("roles") or [], "assignments": assignments}
        self.host.write(ROLES_FILE, json.dumps(data, indent=1) + "\n")

    def apply_users(
        self,
        current: dict[str, Any],
        want: dict[str, Any],
        changes: Sequence[Change],
        secrets: SecretLookup,
    ) -> None:
        have = {u["name"]: u for u in current.get("users") or []}
        wanted = {u["name"]: u for u in want.get("users") or []}
        for name in have:
            if name not in wanted:
                self.host.run(self.shadow_tool("userdel", "-r", name), check=False)
        admin = self.admin_group(self.database()[1])
        role_groups = {admin} | {r["name"] for r in want.get("roles") or []}
        for name, user in wanted.items():
            if not touched(changes, "users", name) and name in have:
                continue
            old = have.get(name, {})
            if name not in have:
                self.host.run(self.shadow_tool("useradd", "-m", "-s", "/bin/bash", name))
            if user.get("description", "") != old.get("description", ""):
                self.host.run(self.shadow_tool("usermod", "-c", user["description"], name))
            if "roles" in user and user["roles"] != old.get("roles"):
                self.set_groups(name, user["roles"], admin, role_groups)
            if "enabled" in user and user["enabled"] != old.get("enabled", True):
                self.host.run(
                    self.shadow_tool("usermod", "-e", "" if user["enabled"] else "1", name)
                )
            hashed = user.get("passwordHash")
            if is_secret_ref(user.get("password")):
                hashed = hash_password(secrets(user["password"]["secretRef"]))
            if hashed and hashed != old.get("passwordHash"):
                self.set_hash(name, hashed)
            if "sshAuthorizedKeys" in user and user["sshAuthorizedKeys"] != old.get(
                "sshAuthorizedKeys"
            ):
                self.write_keys(name, user["sshAuthorizedKeys"])

    def set_groups(self, name: str, roles: list[str], admin: str, role_groups: set[str]) -> None:
        _, groups, _ = self.database()
        keep = [g["name"] for g in groups if name in g["members"] and g["name"] not in role_groups]
        new = keep + [admin if r == "admin" else r for r in roles]
        self.host.run(self.shadow_tool("usermod", "-G", ",".join(new), name))

    def set_hash(self, name: str, hashed: str) -> None:
        """chpasswd -e reads the hash on stdin (never in argv); a prefix root has no
        chpasswd -P, so there usermod -p writes it."""
        if self.host.is_live_root:
            self.host.run(["chpasswd", "-e"], stdin=f"{name}:{hashed}\n")
        else:
            self.host.run(self.shadow_tool("usermod", "-p", hashed, name))

    def write_keys(self, name: str, keys: list[str]) -> None:
        user = next(u for u in self.database()[0] if u["name"] == name)
        ssh_dir = f"{user['home']}/.ssh"
        self.host.path(ssh_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        path = f"{ssh_dir}/authorized_keys"
        self.host.write(path, "".join(k + "\n" for k in keys), mode=0o600)
        for p in (ssh_dir, path):
            os.chown(self.host.path(p), user["uid"], user["gid"])

    def apply_ssh(self, ssh: dict[str, Any]) -> None:
        lines = [MANAGED_HEADER.rstrip()]
        if "port" in ssh:
            lines.append(f"Port {int(ssh['port'])}")
        if "passwordAuthentication" in ssh:
            lines.append(
                f"PasswordAuthentication {'yes' if ssh['passwordAuthentication'] else 'no'}"
            )
        self.host.write(SSHD_DROPIN, "\n".join(lines) + "\n")
        h = self.host
        if h.is_live_root and h.has("sshd"):
            h.run(["sshd", "-t"])
        if h.systemd_running():
            if ssh.get("enable") is False:
                h.run(["systemctl", "disable", "--now", "ssh"])
            else:
                if ssh.get("enable") is True:
                    h.run(["systemctl", "enable", "--now", "ssh"])
                h.run(["systemctl", "try-reload-or-restart", "ssh"])
        elif "enable" in ssh:
            raise DeviceError("access.ssh.enable needs systemd running on this host")

    def apply_policy(self, policy: dict[str, Any], keys: set[str]) -> None:
        """Our drop-in holds the keys the spec sets (`keys`, from the changes) and those it
        held already; every other key keeps the host's value (pwquality.conf, other
        drop-ins), not the value observed once and written back."""
        if not self.host.exists("/etc/security/pwquality.conf"):
            raise DeviceError("passwordPolicy needs libpam-pwquality (no pwquality.conf)")
        held = config.key_values([self.host.read(PWQUALITY_DROPIN) or ""])
        managed = keys | {k for k, credits in POLICY_KEYS.items() if credits[0] in held}
        lines = [MANAGED_HEADER.rstrip()]
        for key, credits in POLICY_KEYS.items():
            if key not in managed or key not in policy:
                continue
            if key == "lengthMin":
                lines.append(f"minlen = {int(policy[key])}")
                continue
            lines += [f"{credit} = {-1 if policy[key] else 0}" for credit in credits]
        self.host.write(PWQUALITY_DROPIN, "\n".join(lines) + "\n")

    # -- checkpoint (ssh only: the part that can lock operators out) --------------------

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]:
        return {"files": snapshot(self.host, [SSHD_DROPIN]), "ssh": self.ssh()}

    def restore(self, snap: dict[str, Any]) -> None:
        restore(self.host, snap["files"])
        h = self.host
        if h.systemd_running():
            if snap["ssh"].get("enable") is False:
                h.run(["systemctl", "disable", "--now", "ssh"], check=False)
            else:
                h.run(["systemctl", "enable", "--now", "ssh"], check=False)
                h.run(["systemctl", "try-reload-or-restart", "ssh"], check=False)


def _policy_keys(changes: Sequence[Change]) -> set[str]:
    """The passwordPolicy keys the changes set (all of a whole policy's, when it is new)."""
    keys: set[str] = set()
    for change in changes:
        path = [p for p in change.path[1:] if isinstance(p, str)]
        after = change.after
        if not path and isinstance(after, dict):  # the whole access area
            after, path = after.get("passwordPolicy"), ["passwordPolicy"]
        if path[:1] != ["passwordPolicy"]:
            continue
        if len(path) > 1:
            keys.add(path[1])
        elif isinstance(after, dict):
            keys |= set(after)
    return keys
