"""JSON Schemas of every response, following the platform portal reference's examples.

They are the `components.schemas` of the OpenAPI document, which tests and schemathesis
check the live responses against. Documented shapes are closed (no extra keys), so a
drift from the reference shows up as a test failure.
"""

from __future__ import annotations

from typing import Any

from reconciler import syncstatus

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], optional: tuple[str, ...] = (), closed: bool = True) -> Schema:
    """An object with `props`, all required except `optional`."""
    out: Schema = {
        "type": "object",
        "properties": props,
        "required": [k for k in props if k not in optional],
    }
    if closed:
        out["additionalProperties"] = False
    return out


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
BIT: Schema = {"type": "integer", "enum": [0, 1]}
NULLABLE_STR: Schema = {"type": ["string", "null"]}
STRINGS = array(STR)

SYNC_STATES = [*syncstatus.SYNC_STATES, "Unknown"]

COMPONENTS: dict[str, Schema] = {
    # -- errors and auth ---------------------------------------------------------------
    "CodeMessage": {
        **obj({"Code": INT, "Message": STR}),
        "description": "Error body of 401 (documented) and of this endpoint's 400/404/405/422.",
    },
    "PortalError": {
        **obj({"errors": {"type": "object", "additionalProperties": STR, "minProperties": 1}}),
        "description": 'Portal error body, e.g. {"errors": {"GPIO": "invalid parameter"}}.',
    },
    "AgentInfo": obj({"version": {"type": "string", "pattern": "^v"}}),
    "ApiVersion": obj({"version": NUM}),
    "Token": obj({"code": {"type": "integer", "enum": [200]}, "expire": STR, "token": STR}),
    "Login": obj({"username": STR, "password": STR}, closed=False),
    "Logout": obj({"code": {"type": "integer", "enum": [200]}}),
    # -- hardware monitor --------------------------------------------------------------
    "Reading": obj({"name": STR, "value": NUM, "unit": STR}),
    "Readings": {**array(ref("Reading")), "minItems": 1},
    "Hwmon": {
        **obj(
            {k: ref("Readings") for k in ("temperature", "voltage", "current", "fanspeed")},
            optional=("temperature", "voltage", "current", "fanspeed"),
        ),
        "minProperties": 1,
    },
    # -- host, performance ---------------------------------------------------------------
    "HostInfo": obj(
        {
            "biosSerialNumber": STR,
            "biosUUID": STR,
            "biosVersion": STR,
            "bootCount": INT,
            "bootTime": INT,
            "deviceName": STR,
            "dockerVersion": STR,
            "ecVersion": STR,
            "hostid": STR,
            "hostname": STR,
            "imageVersion": STR,
            "kernelArch": STR,
            "os": STR,
            "platform": STR,
            "releaseDate": STR,
            "upTime": INT,
        }
    ),
    "CpuInfo": obj(
        {
            "cpu": INT,
            "vendorId": STR,
            "family": STR,
            "model": STR,
            "stepping": INT,
            "physicalId": STR,
            "coreId": STR,
            "cores": INT,
            "modelName": STR,
            "mhz": NUM,
            "cacheSize": INT,
            "flags": STRINGS,
            "microcode": STR,
        }
    ),
    "Cpu": obj({"info": ref("CpuInfo"), "usage": array(NUM)}),
    "Memory": {
        **obj(
            {"total": INT, "available": INT, "used": INT, "usedPercent": NUM, "free": INT},
            closed=False,
        ),
        "additionalProperties": INT,
    },
    "SystemPerf": obj({"cpu": ref("Cpu"), "memory": ref("Memory")}),
    # -- peripherals -----------------------------------------------------------------------
    "LedList": {**array(BOOL), "minItems": 1},
    "Led": BOOL,
    "Watchdog": obj(
        {
            "enabled": BOOL,
            "type": STR,
            "timeoutInSeconds": INT,
            "timeoutMaxInSeconds": INT,
            "timeoutMinInSeconds": INT,
        }
    ),
    "Partition": obj(
        {
            "mountPoint": STR,
            "sizeBytes": INT,
            "freeBytes": INT,
            "usedBytes": INT,
            "usedPercent": NUM,
            "readOnly": BOOL,
        }
    ),
    "PartitionList": {**array(ref("Partition")), "minItems": 1},
    "Disk": obj(
        {
            "name": STR,
            "sizeBytes": INT,
            "physicalBlockSizeBytes": INT,
            "removable": BOOL,
            "vendor": STR,
            "model": STR,
            "serialNumber": STR,
            "firmwareRevision": STR,
            "mediaType": STR,
            "partitions": array(ref("Partition")),
            "smartAttributes": array(ref("SmartAttribute")),
        }
    ),
    "SmartAttribute": obj(
        {
            "id": INT,
            "name": STR,
            "statusFlags": INT,
            "value": INT,
            "worst": INT,
            "threshold": INT,
            "rawData": {**array({"type": "integer", "minimum": 0, "maximum": 255}), "maxItems": 6},
        }
    ),
    "DiskList": {**array(ref("Disk")), "minItems": 1},
    "RedundantPower": obj({"vin1State": BIT, "vin2State": BIT}),
    "GpioCount": obj({"count": {"type": "integer", "minimum": 0}}),
    "GpioPin": obj({"pin": {"type": "integer", "minimum": 0}, "dir": BIT, "level": BIT}),
    "GpioList": {**array(ref("GpioPin")), "minItems": 1},
    "GpioDir": obj({"dir": BIT}),
    "GpioLevel": obj({"level": BIT}),
    "Brightness": obj({"min": INT, "max": INT, "value": INT}),
    # -- networking ------------------------------------------------------------------------
    "Interface": obj(
        {
            "ifIndex": INT,
            "uuid": STR,
            "name": STR,
            "description": STR,
            "type": STR,
            "typeId": INT,
            "mtu": INT,
            "connected": BOOL,
            "isDefault": BOOL,
            "dhcpEnabled": BOOL,
            "hardwareAddress": STR,
            "addresses": STRINGS,
            "gateway": STRINGS,
            "dns": STRINGS,
            "speed": STR,
            "sendSpeed": INT,
            "recvSpeed": INT,
            "iocounters": ref("IoCounters"),
        },
        optional=("addresses", "gateway", "dns", "speed", "sendSpeed", "recvSpeed", "iocounters"),
    ),
    "IoCounters": obj(
        {
            key: INT
            for key in (
                "ifindex",
                "bytesSent",
                "bytesRecv",
                "packetsSent",
                "packetsRecv",
                "errin",
                "errout",
                "dropin",
                "dropout",
                "fifoin",
                "fifoout",
            )
        }
    ),
    "InterfaceList": array(ref("Interface")),
    "WifiProfile": obj(
        {
            "name": STR,
            "allUserProfile": BOOL,
            "groupPolicyProfile": BOOL,
            "perUserProfile": BOOL,
        }
    ),
    "WifiInterface": obj(
        {"ifIndex": INT, "uuid": STR, "description": STR, "profiles": array(ref("WifiProfile"))}
    ),
    "WifiInterfaceList": array(ref("WifiInterface")),
    "WifiNetwork": obj(
        {
            "alreadyConnected": BOOL,
            "authenticationAlgorithm": STR,
            "channel": INT,
            "cipherAlgorithm": STR,
            "connectable": BOOL,
            "infrastructureType": STR,
            "profileAvailable": BOOL,
            "profileName": STR,
            "ssid": STR,
            "securityEnabled": BOOL,
            "signalQuality": {"type": "integer", "minimum": 0, "maximum": 100},
            "signalStrength": INT,
            "bssid": STR,
            "physicalTypes": STRINGS,
        },
        optional=("channel", "bssid"),
    ),
    "WifiNetworkList": array(ref("WifiNetwork")),
    # -- devices, displays, ETP --------------------------------------------------------------
    "DeviceList": array(
        obj(
            {
                "class": STR,
                "instancePath": STR,
                "name": STR,
                "vendorID": STR,
                "deviceID": STR,
                "status": STR,
            },
            optional=("vendorID", "deviceID"),
        )
    ),
    "DisplayCount": {"type": "integer", "minimum": 0},
    "EtpDeviceData": obj(
        {"modelName": STR, "serialNumber": STR, "boardVersion": STR, "uuid": STR, "version": STR}
    ),
    "EtpUserData": obj({"data": obj({"userSpace1": STR, "userSpace2": STR}), "locked": BOOL}),
    "EtpLockStatus": obj({"locked": BOOL}),
    # -- processes and services -------------------------------------------------------------
    "Process": obj(
        {
            "pid": INT,
            "ppid": INT,
            "name": STR,
            "numThreads": INT,
            "memUsage": INT,
            "cpuPercent": NUM,
            "username": STR,
            "elapsedTime": INT,
            "path": STR,
            "cmdline": STR,
        },
        optional=("ppid", "path", "cmdline"),
    ),
    "ProcessList": {**array(ref("Process")), "minItems": 1},
    "Service": obj(
        {
            "name": STR,
            "displayName": STR,
            "description": STR,
            "status": {"type": "string", "enum": ["running", "stopped", "disabled", "unknown"]},
        }
    ),
    "ServiceList": array(ref("Service")),
    "ServiceStatus": obj(
        {"status": {"type": "string", "enum": ["running", "stopped", "disabled", "unknown"]}}
    ),
    # -- edgehub -----------------------------------------------------------------------------
    "Connection": obj(
        {
            "enabled": BOOL,
            "status": {"type": "string", "enum": ["connected", "disconnected"]},
            "certRevoked": BOOL,
            "stormDetected": BOOL,
        }
    ),
    "ConnCfg": obj(
        {
            "username": STR,
            "password": {"type": "string", "enum": ["", "(sensitive)"]},
            "mqttHost": STR,
            "mqttPort": INT,
            "enableTLS": BOOL,
            "overWebSocket": BOOL,
            "connectionString": STR,
            "mac": STR,
            "uuid": STR,
            "skipCertVerify": BOOL,
            "deviceTokenCredential": STR,
            "caCerts": STRINGS,
            "iothubKey": STR,
            "iothubCert": STR,
            "mqttKey": {"type": "string", "enum": ["", "(sensitive)"]},
            "mqttCert": {"type": "string", "enum": ["", "(sensitive)"]},
        }
    ),
    "MacAddress": {"type": "string", "pattern": "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"},
    "AppHubStatus": obj({"status": STR}),
    "EdgeBusStatus": obj(
        {
            "enabled": BOOL,
            "mqttBrokerStatus": {
                "type": "object",
                "additionalProperties": {"type": ["string", "integer"]},
            },
            "clientStatus": STR,
        }
    ),
    "EdgeHubProfile": {
        "type": "object",
        "additionalProperties": {"type": ["string", "integer", "boolean"]},
        "required": ["model:name", "hwmon", "perif:wdt", "systemperf"],
    },
    # -- the reconciler's own --------------------------------------------------------------
    "ApplyRecord": obj(
        {
            "id": INT,
            "device": STR,
            "backend": STR,
            "source": STR,
            "startedAt": STR,
            "finishedAt": NULLABLE_STR,
            "status": STR,
            "summary": {"type": "object", "additionalProperties": INT},
            "error": NULLABLE_STR,
            "observedHash": NULLABLE_STR,
        }
    ),
    "History": array(ref("ApplyRecord")),
    "Tags": {
        "type": "object",
        "additionalProperties": obj(
            {
                "value": {},
                "quality": {"type": "string", "enum": ["good", "bad", "pending"]},
                "timestamp": NULLABLE_STR,
                "error": NULLABLE_STR,
            },
            closed=False,
        ),
    },
    "Change": obj(
        {
            "area": STR,
            "path": STR,
            "op": {"type": "string", "enum": ["add", "replace", "remove"]},
            "before": {},
            "after": {},
            "sensitive": BOOL,
            "risk": STR,
            "reason": STR,
        }
    ),
    "Plan": obj(
        {
            "device": STR,
            "backend": STR,
            "changes": array(ref("Change")),
            "patch": array({"type": "object"}),
            "summary": obj({"add": INT, "change": INT, "remove": INT}),
            "refusals": STRINGS,
        }
    ),
}


def _status_schemas() -> dict[str, Schema]:
    """The status document's schema from its model (reconciler.syncstatus), the one home of
    its shape; under `reconcile serve` alone the state may also be Unknown (no spec)."""
    status = syncstatus.SyncStatus.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/Status{model}"
    )
    parts = {f"Status{name}": schema for name, schema in status.pop("$defs").items()}
    status["properties"]["syncState"] = {"type": "string", "enum": SYNC_STATES}
    status["description"] = (
        "The agent's status document (reconciler.syncstatus), or the same shape computed "
        "from history and a fresh plan under `reconcile serve`."
    )
    return {**parts, "SyncStatus": status}


COMPONENTS.update(_status_schemas())
