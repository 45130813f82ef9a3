"""Sparkplug B for a `sparkplug` cloud client: the topic namespace and the protobuf payloads
(NBIRTH, NDATA, NDEATH) of an edge node, from the uplink's JSON messages. Pure: the clock
and the sequence numbers are the caller's.

The payload classes come from Google's protobuf runtime (maintained, on PyPI); no Sparkplug
package is installable from the configured index (Eclipse Tahu publishes none), so the
messages of the official sparkplug_b.proto that an edge node sends (Payload and its Metric,
with their field numbers and the value oneof) are declared here with protobuf's descriptor
API instead of generated code. DataSet, Template, MetaData and PropertySet are not sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

NAMESPACE = "spBv1.0"
PACKAGE = "org.eclipse.tahu.protobuf"
INT64, DOUBLE, BOOLEAN, STRING = 4, 10, 11, 12
"""Sparkplug DataType enum values used here."""
BD_SEQ, REBIRTH = "bdSeq", "Node Control/Rebirth"
ENVELOPE = frozenset({"type", "device", "seq", "time"})
"""Fields of the uplink's messages that Sparkplug carries in its own payload fields."""
F = descriptor_pb2.FieldDescriptorProto
METRIC_FIELDS = (
    ("name", 1, F.TYPE_STRING, False),
    ("alias", 2, F.TYPE_UINT64, False),
    ("timestamp", 3, F.TYPE_UINT64, False),
    ("datatype", 4, F.TYPE_UINT32, False),
    ("is_historical", 5, F.TYPE_BOOL, False),
    ("is_transient", 6, F.TYPE_BOOL, False),
    ("is_null", 7, F.TYPE_BOOL, False),
    ("int_value", 10, F.TYPE_UINT32, True),
    ("long_value", 11, F.TYPE_UINT64, True),
    ("float_value", 12, F.TYPE_FLOAT, True),
    ("double_value", 13, F.TYPE_DOUBLE, True),
    ("boolean_value", 14, F.TYPE_BOOL, True),
    ("string_value", 15, F.TYPE_STRING, True),
    ("bytes_value", 16, F.TYPE_BYTES, True),
)
"""sparkplug_b.proto's Payload.Metric: (name, number, type, in the `value` oneof)."""


def _payload_class() -> type[Message]:
    proto = descriptor_pb2.FileDescriptorProto(
        name="sparkplug_b.proto", package=PACKAGE, syntax="proto2"
    )
    payload = proto.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    for name, number, kind, in_value in METRIC_FIELDS:
        field = metric.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL)
        if in_value:
            field.oneof_index = 0
    for name, number, kind in (("timestamp", 1, F.TYPE_UINT64), ("seq", 3, F.TYPE_UINT64)):
        payload.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL)
    payload.field.add(
        name="metrics",
        number=2,
        type=F.TYPE_MESSAGE,
        type_name=f".{PACKAGE}.Payload.Metric",
        label=F.LABEL_REPEATED,
    )
    for name, number, kind in (("uuid", 4, F.TYPE_STRING), ("body", 5, F.TYPE_BYTES)):
        payload.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.Payload"))


Payload: Any = _payload_class()
"""The Payload message class (made at run time, so its fields are not known to mypy)."""


def topic(group: str, kind: str, node: str) -> str:
    """spBv1.0/<group>/<NBIRTH|NDATA|NDEATH>/<node>."""
    return f"{NAMESPACE}/{group}/{kind}/{node}"


def metrics(value: Any, name: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a JSON value as (metric name, value); nested keys joined with '/' (the
    Sparkplug folder separator); lists as their JSON text."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from metrics(item, f"{name}/{key}" if name else str(key))
    elif isinstance(value, list):
        yield name, json.dumps(value, separators=(",", ":"))
    else:
        yield name, value


def _add(payload: Any, name: str, value: Any, now_ms: int) -> None:
    metric = payload.metrics.add(name=name, timestamp=now_ms)
    if value is None:
        metric.datatype, metric.is_null = STRING, True
    elif isinstance(value, bool):
        metric.datatype, metric.boolean_value = BOOLEAN, value
    elif isinstance(value, int):
        metric.datatype, metric.long_value = INT64, value & 0xFFFF_FFFF_FFFF_FFFF
    elif isinstance(value, float) and math.isfinite(value):
        metric.datatype, metric.double_value = DOUBLE, value
    else:
        metric.datatype, metric.string_value = STRING, str(value)


def _build(pairs: list[tuple[str, Any]], now_ms: int, seq: int | None) -> bytes:
    payload = Payload(timestamp=now_ms)
    if seq is not None:
        payload.seq = seq % 256
    for name, value in pairs:
        _add(payload, name, value, now_ms)
    return bytes(payload.SerializeToString())


def message_metrics(message: bytes) -> list[tuple[str, Any]]:
    """The uplink's JSON message as metrics: status fields under status/, the state and
    telemetry under their own names."""
    data = json.loads(message)
    kind = data.get("type")
    body = {k: v for k, v in data.items() if k not in ENVELOPE}
    return list(metrics({"status": body} if kind == "status" else body))


def birth(bd_seq: int, message: bytes | None, now_ms: int) -> bytes:
    """NBIRTH: seq 0, the bdSeq of this connection's will, the rebirth control and the
    metrics of the latest status."""
    pairs = [(BD_SEQ, bd_seq), (REBIRTH, False)]
    return _build(pairs + (message_metrics(message) if message else []), now_ms, 0)


def data(message: bytes, seq: int, now_ms: int) -> bytes:
    """NDATA with the message's metrics."""
    return _build(message_metrics(message), now_ms, seq)


def death(bd_seq: int, now_ms: int) -> bytes:
    """NDEATH (the MQTT will, and sent before a clean disconnect): only bdSeq, no seq."""
    return _build([(BD_SEQ, bd_seq)], now_ms, None)
