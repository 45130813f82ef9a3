"""access: roles, users, credentials, policies and servers, located in the YAML."""

from __future__ import annotations

import pytest
from testkit import one_problem, validate

# Real keys made with ssh-keygen (public halves only) and a hash from `openssl passwd -6`.
ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGTAqZkriUTle2L1swtq6dNEAheiBuS+U0J+/9kaIPFm ops@laptop"
)
ECDSA = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGsafxjI"
    "TWXwVG45omMQbxRSCZQaiYzx1zjeh1QAlXOkY158Th7rk46MB+UZHVxcwigjfY8LNo4PS13+i+spPKU="
)
RSA_2048 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC916lOcLW2cOv57EphITd1NFB6MWlugkk4k0q4o7Tt"
    "528Th5e8x4B6TUOW4/tnrkk3ei9LcHVlHsCbngkfH1IgPfMpQmC/jUUBs0MqGmJ35iv7B2OCF0KSpVhz"
    "v51TFCt6iSAu4+vE+yl+ZqKSPLmX4hxPCygpI2MTVtUiFl0SeXfmVMF36d3NzKxiZ1iM4bCqF4dS5SmF"
    "cx7xD5G52Ybc/96dLWTRB6kGDpLmjOfLkWTviZGvr+FGn4uHqb+26he0EQ54y0fMr9gCjkcnAlcOoHas"
    "JfBJYkE9tRZKi5N08mf2zKaEY6WuW7qWckG4bpHbyaM2pyfXSJf6WD3zdA1L ci"
)
RSA_1024 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC4ayUxSmaVbgND/0s74Nk/J6ntv8gkNaLQcwPpqLRC"
    "1VbIei9AGXvrrIGTuV+POMWliw/6uxkxIxvbMnQ5+CUb1pEBsaYGxodoL017Ks4/Lizg5NPqwkPunMkV"
    "r4c1Qpq+7YD6TCJuhKcdQWnhqqOI+qMa6kKDvAnF/EhV5Mko+w== old"
)
SHA512_HASH = (
    "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5V"
    "vwp2scFtv/uamSo5z0"
)
YESCRYPT_HASH = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"


VALID = f"""\
access:
  roles:
    - {{name: viewer, permissions: ["status:read"]}}
    - name: operator
      description: Plant operators
      permissions: ["status:read", "gpio:write", "modbus:*"]
  users:
    - name: monitor
      roles: [viewer]
      password: {{secretRef: monitor-password}}
      sshAuthorizedKeys: []
    - name: ops
      roles: [admin, operator]
      passwordHash: "{SHA512_HASH}"
      sshAuthorizedKeys: ["{ED25519}", "{ECDSA}", "{RSA_2048}"]
      enabled: true
      email: ops@plant-a.example
    - name: svc_backup
      roles: [viewer]
      passwordHash: "{YESCRYPT_HASH}"
      enabled: false
  passwordPolicy:
    lengthMin: 12
    atLeastOneDigit: true
    atLeastOneSpecial: true
    mixedUpperLowerLetters: true
    enableReminder: true
    reminderFrequencyDay: 90
  authLock: {{enable: true, failTimes: 5, failWindow: 15, lockWindow: 10}}
  sessions: {{maxCountByUser: 5, timeoutMin: 1440, idleTimeoutMin: 15}}
  ssh: {{enable: true, port: 22, passwordAuthentication: false}}
  httpServer: {{redirectToHttps: true, httpsPort: 8443}}
  prune: true
"""


def test_design_example_is_valid() -> None:
    result = validate(VALID)
    assert result.problems == []
    assert result.spec is not None and result.spec.spec.access is not None
    access = result.spec.spec.access
    assert access.users is not None and access.users[1].ssh_authorized_keys is not None
    assert access.users[1].ssh_authorized_keys[0] == ED25519
    dumped = result.spec.model_dump(exclude_unset=True, by_alias=True)["spec"]["access"]
    assert dumped["users"][0]["password"] == {"secretRef": "monitor-password"}
    assert dumped["users"][1]["passwordHash"] == SHA512_HASH
    assert dumped["authLock"] == {
        "enable": True,
        "failTimes": 5,
        "failWindow": 15,
        "lockWindow": 10,
    }


def test_undefined_role_is_located_at_the_role_entry() -> None:
    result = validate(
        """\
        access:
          roles:
            - {name: viewer, permissions: ["status:read"]}
          users:
            - {name: monitor, roles: [viewer, operator, viewer]}
        """
    )
    assert len(result.problems) == 2
    roles = "spec.access.users.0.roles"
    result.at(
        0, 9, "operator", f"{roles}.1", "undefined role 'operator'; declare it in access.roles"
    )
    assert "(known: admin, viewer)" in result.problems[0].message
    result.at(1, 9, "viewer]", f"{roles}.2", "role 'viewer' is listed twice")


def test_builtin_admin_role_needs_no_declaration_and_cannot_be_redefined() -> None:
    assert validate("access:\n  users: [{name: ops, roles: [admin]}]\n").problems == []
    result = one_problem("access:\n  roles: [{name: admin, permissions: ['status:read']}]\n")
    result.at(0, 6, "admin", "spec.access.roles.0.name", "'admin' is a built-in role")


def test_builtin_admin_account_keeps_the_admin_role() -> None:
    result = one_problem(
        """\
        access:
          roles: [{name: viewer, permissions: ["status:read"]}]
          users: [{name: admin, roles: [viewer]}]
        """
    )
    result.at(0, 7, "[viewer]", "spec.access.users.0.roles", "AIG-302's built-in admin account")


def test_password_and_hash_are_exclusive() -> None:
    result = one_problem(
        f"""\
        access:
          users:
            - name: ops
              password: {{secretRef: ops}}
              passwordHash: "{SHA512_HASH}"
        """
    )
    result.at(0, 9, '"$6$', "spec.access.users.0.passwordHash", "either password or passwordHash")


@pytest.mark.parametrize(
    ("value", "token", "fragment"),
    [
        ('"$1$abc$OGyl6dDvZCDiGmIVbeuCq/"', '"$1$', "MD5 and DES crypt hashes are too weak"),
        ("abJnggxhB/yWI", "abJ", "too weak"),
        ("hunter22", "hunter22", "not a crypt hash"),
        ('"$6$short"', '"$6$', "not a crypt hash"),
        ("{secretRef: x}", "{secretRef", "valid string"),
    ],
)
def test_bad_password_hash(value: str, token: str, fragment: str) -> None:
    result = one_problem(f"access:\n  users:\n    - name: ops\n      passwordHash: {value}\n")
    result.at(0, 8, token, "spec.access.users.0.passwordHash", fragment)


def test_plain_password_is_refused() -> None:
    result = one_problem("access:\n  users:\n    - name: ops\n      password: hunter22\n")
    result.at(0, 8, "hunter22", "spec.access.users.0.password")


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        (RSA_1024, "RSA key of 1024 bits is too short (at least 2048)"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "unsupported key type 'ssh-dss'"),
        ('from="10.0.0.0/8" ' + ED25519, "authorized_keys options are not supported"),
        ("ssh-ed25519 not*base64", "not a valid base64 public key"),
        ("ssh-ed25519 " + ECDSA.split()[1], "the key data does not hold a ssh-ed25519 key"),
        ("ssh-ed25519", "expected one public key line"),
    ],
)
def test_bad_ssh_keys(key: str, fragment: str) -> None:
    result = one_problem(
        f"access:\n  users:\n    - name: ops\n      sshAuthorizedKeys: ['{key}']\n"
    )
    result.at(0, 8, "'", "spec.access.users.0.sshAuthorizedKeys.0", fragment)


def test_duplicate_ssh_key() -> None:
    result = one_problem(
        f"""\
        access:
          users:
            - name: ops
              sshAuthorizedKeys:
                - {ED25519}
                - {ED25519.replace("ops@laptop", "other comment")}
        """
    )
    result.at(0, 10, "ssh-ed25519", "spec.access.users.0.sshAuthorizedKeys.1", "listed twice")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("-x", "invalid user name '-x'"),
        ("_svc", "starting with a letter or digit; did you mean 'svc'?"),
        ("a" * 65, "1-64 letters, digits or '+=,.@_-'"),
        ("'ops team'", "did you mean 'ops_team'?"),
        ("'ops:x'", "did you mean 'ops_x'?"),
    ],
)
def test_bad_user_names(name: str, fragment: str) -> None:
    """The gateway doc's users rule: 1..64 of letters, digits and +=,.@_-, a letter or
    digit first."""
    result = one_problem(f"access:\n  users: [{{name: {name}}}]\n")
    result.at(0, 6, name, "spec.access.users.0.name", fragment)


@pytest.mark.parametrize("name", ["Admin", "ops@plant-a", "a+b=c,d.e", "7up", "a" * 64])
def test_user_names_the_gateway_doc_allows(name: str) -> None:
    assert validate(f"access:\n  users: [{{name: '{name}'}}]\n").problems == []


def test_duplicate_users_and_roles() -> None:
    result = validate(
        """\
        access:
          roles:
            - {name: viewer, permissions: ["status:read"]}
            - {name: viewer, permissions: ["status:read"]}
          users:
            - {name: ops}
            - {name: ops}
        """
    )
    assert len(result.problems) == 2
    result.at(0, 8, "viewer", "spec.access.roles.1.name", "duplicate name 'viewer'")
    result.at(1, 11, "ops", "spec.access.users.1.name", "duplicate name 'ops'")


@pytest.mark.parametrize(
    ("permissions", "token", "loc", "fragment"),
    [
        ('["Status:Read"]', '"Status', ".0", "unknown permission 'Status:Read'"),
        ('["status"]', '"status', ".0", "expected AREA:VERB"),
        ('["status:raed"]', '"status', ".0", "did you mean 'status:read'?"),
        ('["gpio:read", "procesess:read"]', '"procesess', ".1", "did you mean 'processes:read'?"),
        ('["anything:read"]', '"anything', ".0", "AREA one of status, processes, metrics"),
        ("[]", "[]", "", "at least 1 item"),
        ('["status:read", "status:read"]', '"status:read"]', ".1", "status:read is listed twice"),
    ],
)
def test_role_permissions(permissions: str, token: str, loc: str, fragment: str) -> None:
    result = one_problem(f"access:\n  roles:\n    - {{name: r, permissions: {permissions}}}\n")
    result.at(0, 7, token, f"spec.access.roles.0.permissions{loc}", fragment)


def test_role_names_follow_the_gateway_pattern() -> None:
    assert (
        validate("access:\n  roles: [{name: plant.ops+a@b, permissions: ['*:*']}]\n").problems == []
    )
    result = one_problem("access:\n  roles: [{name: -ops, permissions: ['*:*']}]\n")
    result.at(0, 6, "-ops", "spec.access.roles.0.name", "invalid role name '-ops'")


@pytest.mark.parametrize(
    ("area", "body", "token", "key", "fragment"),
    [
        ("passwordPolicy", "{lengthMin: 7}", "7", "lengthMin", "greater than or equal to 8"),
        ("passwordPolicy", "{lengthMin: 257}", "257", "lengthMin", "less than or equal to 256"),
        ("passwordPolicy", "{reminderFrequencyDay: 9}", "9", "reminderFrequencyDay", "equal to 10"),
        ("passwordPolicy", "{atLeastOneUpper: true}", "atLeast", "atLeastOneUpper", "unknown"),
        ("authLock", "{failTimes: 2}", "2", "failTimes", "greater than or equal to 3"),
        ("authLock", "{failTimes: 33}", "33", "failTimes", "less than or equal to 32"),
        ("authLock", "{failWindow: 61}", "61", "failWindow", "less than or equal to 60"),
        ("authLock", "{lockWindow: 4}", "4", "lockWindow", "greater than or equal to 5"),
        ("authLock", "{lockWindow: 1441}", "1441", "lockWindow", "less than or equal to 1440"),
        ("sessions", "{maxCountByUser: 33}", "33", "maxCountByUser", "less than or equal to 32"),
        ("sessions", "{timeoutMin: 59}", "59", "timeoutMin", "greater than or equal to 60"),
        ("sessions", "{idleTimeoutMin: 0}", "0", "idleTimeoutMin", "greater than or equal to 1"),
        (
            "sessions",
            "{timeoutMin: 60, idleTimeoutMin: 61}",
            "61",
            "idleTimeoutMin",
            "idle timeout 61 min exceeds the session timeout 60 min",
        ),
        ("ssh", "{port: 0}", "0", "port", "greater than or equal to 1"),
        ("ssh", "{enable: sometimes}", "sometimes", "enable", "valid boolean"),
        ("httpServer", "{httpsPort: 80}", "80", "httpsPort", "443 or within 1024..65535, not 80"),
        ("httpServer", "{httpsPort: 1023}", "1023", "httpsPort", "not 1023"),
    ],
)
def test_ranges(area: str, body: str, token: str, key: str, fragment: str) -> None:
    result = one_problem(f"access:\n  {area}: {body}\n")
    result.at(0, 6, token, f"spec.access.{area}.{key}", fragment)


def test_https_port_443_and_high_ports_are_valid() -> None:
    for port in (443, 1024, 65535):
        assert validate(f"access:\n  httpServer: {{httpsPort: {port}}}\n").problems == []


def test_ssh_and_https_cannot_share_a_port() -> None:
    result = one_problem("access:\n  ssh: {port: 8443}\n  httpServer: {httpsPort: 8443}\n")
    result.at(0, 7, "8443", "spec.access.httpServer.httpsPort", "already the ssh port")


def test_every_area_of_the_registry_can_be_granted() -> None:
    """The vocabulary comes from the area registry: a new area (files) is grantable."""
    from reconciler.areas import AREA_NAMES
    from reconciler.spec.permissions import check_permission

    for area in AREA_NAMES:
        assert check_permission(f"{area}:write") == f"{area}:write"
    with pytest.raises(ValueError, match="did you mean 'files:read'"):
        check_permission("filez:read")
