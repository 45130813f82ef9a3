"""The gateway doc's system groups in the spec: the doc's field names and ranges, and the
model's profile deciding what may be declared (GPS, BIOS, OpenVPN profiles, apps)."""

from __future__ import annotations

from testkit import one_problem, validate

GROUPS = """\
system:
  banner: {enable: true, enableDefaultText: false, userText: "Authorized use only."}
  systemLog: {desiredDiskCacheSizeMB: 4096, enableTimeToLive: true, timeToLiveDay: 30}
  auditLog: {desiredDiskCacheSizeMB: 10, reachThresholdPolicy: rotate, timeToLiveDay: 1}
  serialConsole: {enable: false}
  discovery: {enable: false}
vpn:
  openvpn: [{name: site, profile: {secretRef: vpn}}]
"""


def test_doc_field_names_load_on_both_models() -> None:
    for model in ("AIG-302", "UNO-2484G"):
        result = validate(GROUPS, model)
        assert result.problems == [], model
    spec = validate(GROUPS).spec
    assert spec is not None and spec.spec.system is not None
    log = spec.spec.system.system_log
    assert log is not None and log.desired_disk_cache_size_mb == 4096
    assert spec.spec.vpn is not None and spec.spec.vpn.openvpn is not None
    assert spec.spec.vpn.openvpn[0].enable is True  # the doc's enable defaults on


def test_gateway_only_groups_on_the_gateway() -> None:
    body = """\
        gps: {mode: manual, location: {latitude: -33.9, longitude: 151.2}}
        system:
          bios: {enable: true}
        edge:
          functions: [{name: f-1, params: {rate: 2.5, on: true}}]
          serviceAccounts: [{name: app, required: ["status:read"]}]
        """
    assert validate(body, "AIG-302").problems == []
    found = validate(body, "UNO-2484G")
    assert [p.path for p in found.problems] == ["spec.gps", "spec.system.bios", "spec.edge"]
    found.at(0, 5, "{mode", "spec.gps", "no GPS receiver")


def test_doc_ranges_are_located() -> None:
    one_problem("system:\n  banner: {userText: ''}\n  auditLog: {alertThreshold: 49}\n").at(
        0, 7, "49", "spec.system.auditLog.alertThreshold", "greater than or equal to 50"
    )
    one_problem("gps: {mode: auto, location: {latitude: 1, longitude: 181}}\n").at(
        0, 5, "181", "spec.gps.location.longitude", "less than or equal to 180"
    )
    one_problem("system:\n  systemLog: {targetDiskName: ''}\n").at(
        0, 6, "''", "spec.system.systemLog.targetDiskName", "at least 1 character"
    )
