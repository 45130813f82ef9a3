"""Pure parser for `nft -j list ruleset`: the reconciler's own table back into the spec's
firewall shape. Every rule the reconciler writes carries a comment `KIND:NAME`.

The reconciler owns that table whole: whatever in it rendering the spec would not produce
(a rule without such a comment or with expressions the renderer never writes, a chain other
than its three, a set or any other object) is listed under `unmanaged`, one line each, and
is not read into the spec's fields. Other tables are never looked at."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

CHAINS = {
    "input": ("filter", "input", 0),
    "prerouting": ("nat", "prerouting", -100),
    "postrouting": ("nat", "postrouting", 100),
}
"""The chains the renderer writes: name -> (type, hook, priority)."""

BASE_RULES: tuple[list[dict[str, Any]], ...] = (
    [
        {
            "match": {
                "op": "in",
                "left": {"ct": {"key": "state"}},
                "right": ["established", "related"],
            }
        },
        {"accept": None},
    ],
    [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}, {"drop": None}],
    [
        {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}},
        {"accept": None},
    ],
    [
        {
            "match": {
                "op": "==",
                "left": {"meta": {"key": "l4proto"}},
                "right": {"set": ["icmp", "ipv6-icmp"]},
            }
        },
        {"accept": None},
    ],
)
"""The rules without a comment the renderer writes first in a filtering input chain."""


def _port(value: Any) -> int | str | None:
    if isinstance(value, int):
        return value
    if isinstance(value, dict) and "range" in value:
        lo, hi = value["range"]
        return f"{lo}-{hi}"
    return None


def _network(value: Any) -> str | None:
    if isinstance(value, str):
        return str(ipaddress.ip_network(value, strict=False))
    if isinstance(value, dict) and "prefix" in value:
        p = value["prefix"]
        return str(ipaddress.ip_network(f"{p['addr']}/{p['len']}", strict=False))
    return None


def _set_networks(value: Any) -> list[str]:
    if isinstance(value, dict) and "set" in value:
        return [n for n in (_network(v) for v in value["set"]) if n]
    n = _network(value)
    return [n] if n else []


def _rule_fields(expr: list[dict[str, Any]]) -> dict[str, Any]:
    """Matches and verdict of one rule as flat fields; `unknown` counts the expressions
    the renderer never writes (counters, other matches, other verdicts)."""
    out: dict[str, Any] = {"unknown": 0}
    for e in expr:
        m = e.get("match")
        left = m.get("left") if isinstance(m, dict) else None
        payload = left.get("payload") if isinstance(left, dict) else None
        meta = left.get("meta") if isinstance(left, dict) else None
        if payload and m is not None:
            proto, field, op = payload.get("protocol"), payload.get("field"), m.get("op")
            if proto in ("tcp", "udp") and field in ("dport", "sport") and op == "==":
                out["protocol"] = proto
                out[field] = _port(m["right"])
            elif proto == "tcp" and field == "sport" and op == "!=":
                out["protocol"] = proto
                out["sportNot"] = _port(m["right"])
            elif proto in ("ip", "ip6") and field == "saddr" and op in ("==", "!="):
                out["sources"] = _set_networks(m["right"])
                out["negated"] = op == "!="
            else:
                out["unknown"] += 1
        elif meta and m is not None and meta.get("key") == "nfproto" and m.get("op") == "==":
            out["nfproto"] = m.get("right")
        elif "dnat" in e and isinstance(e["dnat"], dict):
            out["toAddress"] = e["dnat"].get("addr")
            out["toPort"] = _port(e["dnat"].get("port"))
        elif "masquerade" in e and not e["masquerade"]:
            out["masquerade"] = True
        elif "accept" in e or "drop" in e:
            out["verdict"] = "accept" if "accept" in e else "drop"
        else:
            out["unknown"] += 1
    return out


def _renders(kind: str, name: str, chain: str, f: dict[str, Any]) -> bool:
    """Whether the renderer writes a rule like this (comment `kind:name` in `chain`)."""
    has = {k for k in f if k != "unknown"}
    if f["unknown"] or not name:
        return False
    if kind == "snat":
        return chain == "postrouting" and has == {"masquerade"}
    if f.get("dport") is None or "protocol" not in has:
        return False
    single = len(f.get("sources", [])) <= 1 and not f.get("negated")
    if kind == "inbound":
        allowed = {"protocol", "dport", "sport", "sources", "negated", "verdict"}
        return chain == "input" and f.get("verdict") == "accept" and has <= allowed and single
    if kind == "forward":
        allowed = {"protocol", "dport", "sport", "sources", "negated", "toAddress", "toPort"}
        return chain == "prerouting" and bool(f.get("toAddress")) and has <= allowed and single
    if kind == "hostServices":
        plain = f["protocol"] == "tcp" and f.get("verdict") == "drop" and chain == "input"
        if "sportNot" in has:  # the sourcePort rule
            return plain and has == {"protocol", "dport", "sportNot", "verdict"}
        allowed = {"protocol", "dport", "sources", "negated", "nfproto", "verdict"}
        negated = not f.get("sources") or f.get("negated") is True
        return plain and has <= allowed and negated
    return False


def _value(v: Any) -> str:
    if isinstance(v, dict) and "prefix" in v:
        return f"{_value(v['prefix'].get('addr'))}/{v['prefix'].get('len')}"
    if isinstance(v, dict) and "range" in v:
        return "-".join(_value(x) for x in v["range"])
    if isinstance(v, dict) and "set" in v:
        return "{ " + ", ".join(_value(x) for x in v["set"]) + " }"
    if isinstance(v, list):
        return ",".join(_value(x) for x in v)
    if isinstance(v, (str, int)):
        return str(v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _expression(e: dict[str, Any]) -> str:
    """One rule expression in nft's words (its JSON when it is not a common one)."""
    if len(e) != 1:
        return json.dumps(e, sort_keys=True, separators=(",", ":"))
    [(key, body)] = e.items()
    if key == "match" and isinstance(body, dict):
        left, op = body.get("left"), body.get("op")
        if isinstance(left, dict) and "payload" in left:
            what = f"{left['payload'].get('protocol')} {left['payload'].get('field')}"
        elif isinstance(left, dict) and ("meta" in left or "ct" in left):
            kind = "meta" if "meta" in left else "ct"
            what = f"{kind} {left[kind].get('key')}"
        else:
            what = _value(left)
        shown_op = "" if op in ("==", "in") else f"{op} "
        return f"{what} {shown_op}{_value(body.get('right'))}"
    if key in ("accept", "drop", "return", "continue", "masquerade", "counter", "log", "reject"):
        return str(key)
    if key in ("jump", "goto") and isinstance(body, dict):
        return f"{key} {body.get('target')}"
    if key in ("dnat", "snat") and isinstance(body, dict):
        port = f":{_value(body['port'])}" if body.get("port") is not None else ""
        return f"{key} {body.get('family', '')} to {_value(body.get('addr'))}{port}"
    return json.dumps(e, sort_keys=True, separators=(",", ":"))


def describe_rule(rule: dict[str, Any]) -> str:
    """`rule CHAIN: EXPRESSIONS [comment "C"] (handle N)`, one line."""
    words = [_expression(e) for e in rule.get("expr", []) if isinstance(e, dict)]
    if rule.get("comment"):
        words.append(f'comment "{rule["comment"]}"')
    return f"rule {rule.get('chain')}: {' '.join(words)} (handle {rule.get('handle')})"


def _odd_chains(items: list[dict[str, Any]], table: str) -> list[str]:
    """Chains of `table` the renderer does not write as they are, and its chains missing
    (a chain of its name but another shape is reported once, as it is)."""
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        chain = item.get("chain")
        if not isinstance(chain, dict) or not _in_table(chain, table):
            continue
        name = str(chain.get("name"))
        shape = (chain.get("type"), chain.get("hook"), chain.get("prio"))
        policies = ("accept", "drop") if name == "input" else ("accept",)
        first = name in CHAINS and name not in seen
        seen.add(name)
        if first and CHAINS[name] == shape and chain.get("policy") in policies:
            continue
        hook = f" type {shape[0]} hook {shape[1]} priority {shape[2]}" if shape[1] else ""
        policy = f" policy {chain['policy']}" if chain.get("policy") else ""
        shown = f"{name}:{hook}{policy}" if hook or policy else name
        out.append(f"chain {shown} (handle {chain.get('handle')})")
    out += [f"chain {name}: missing" for name in CHAINS if name not in seen]
    return out


def _in_table(obj: dict[str, Any], table: str) -> bool:
    return obj.get("table") == table and obj.get("family") == "inet"


def _other_objects(items: list[dict[str, Any]], table: str) -> list[str]:
    """Sets, maps, counters, flowtables... of `table`: the renderer writes none."""
    out = []
    for item in items:
        for kind, obj in item.items():
            if kind in ("chain", "rule", "table") or not isinstance(obj, dict):
                continue
            if _in_table(obj, table):
                out.append(f"{kind} {obj.get('name')} (handle {obj.get('handle')})")
    return out


def reconciler_table(ruleset: dict[str, Any], table: str = "reconciler") -> dict[str, Any] | None:
    """The firewall area as the reconciler's table holds it, or None without that table.

    `inbound` is present only when the input chain filters (policy drop): without it the
    table does not restrict inbound traffic, like a spec without `firewall.inbound`.
    `unmanaged` (only when there is any) lists what else the table holds."""
    items = [i for i in ruleset.get("nftables", []) if isinstance(i, dict)]
    if not any(
        isinstance(i.get("table"), dict)
        and i["table"].get("name") == table
        and i["table"].get("family") == "inet"
        for i in items
    ):
        return None
    out: dict[str, Any] = {"forward": [], "snat": False}
    filtering = any(
        isinstance(i.get("chain"), dict)
        and _in_table(i["chain"], table)
        and i["chain"].get("name") == "input"
        and i["chain"].get("policy") == "drop"
        for i in items
    )
    inbound: list[dict[str, Any]] = []
    services: dict[str, dict[str, Any]] = {}
    unmanaged = _odd_chains(items, table) + _other_objects(items, table)
    base = list(BASE_RULES) if filtering else []
    for item in items:
        rule = item.get("rule")
        if not isinstance(rule, dict) or not _in_table(rule, table):
            continue
        expr = rule.get("expr", [])
        if rule.get("chain") == "input" and not rule.get("comment") and expr in base:
            base.remove(expr)
            continue
        kind, _, name = str(rule.get("comment", "")).partition(":")
        f = _rule_fields(expr)
        inbound_ok = kind != "inbound" or filtering
        if not (inbound_ok and _renders(kind, name, str(rule.get("chain")), f)):
            unmanaged.append(describe_rule(rule))
        elif kind == "inbound":
            inbound.append(_entry(name, f))
        elif kind == "forward":
            to_port = f.get("toPort") if f.get("toPort") is not None else f.get("dport")
            out["forward"].append(
                {**_entry(name, f), "toAddress": f.get("toAddress"), "toPort": to_port}
            )
        elif kind == "snat":
            out["snat"] = True
        else:
            service = services.setdefault(name, {"name": name})
            if "sportNot" in f:
                service["sourcePort"] = f["sportNot"]
            else:
                service.setdefault("sources", []).extend(f.get("sources", []))
    out["hostServices"] = list(services.values())
    if filtering:
        out = {"inbound": inbound, **out}
    if unmanaged:
        out["unmanaged"] = unmanaged
    return out


def _entry(name: str, f: dict[str, Any]) -> dict[str, Any]:
    """An inbound or forward rule's spec fields."""
    entry: dict[str, Any] = {"name": name, "port": f.get("dport"), "protocol": f.get("protocol")}
    if f.get("sources"):
        entry["source"] = f["sources"][0]
    if f.get("sport") is not None:
        entry["sourcePort"] = f["sport"]
    return entry
