"""Pure parser for `nft -j list ruleset`: the reconciler's own table back into the spec's
firewall shape. Every rule the reconciler writes carries a comment `KIND:NAME`."""

from __future__ import annotations

import ipaddress
from typing import Any


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
    """Matches and verdict of one rule as flat fields."""
    out: dict[str, Any] = {}
    for e in expr:
        if "match" in e:
            m = e["match"]
            left = m.get("left", {})
            payload = left.get("payload") if isinstance(left, dict) else None
            if not payload:
                continue
            proto, field = payload.get("protocol"), payload.get("field")
            if proto in ("tcp", "udp") and field in ("dport", "sport"):
                out["protocol"] = proto
                out[field] = _port(m["right"])
            elif proto in ("ip", "ip6") and field == "saddr":
                out["sources"] = _set_networks(m["right"])
                out["negated"] = m.get("op") == "!="
        elif "dnat" in e:
            out["toAddress"] = e["dnat"].get("addr")
            out["toPort"] = _port(e["dnat"].get("port"))
        elif "masquerade" in e:
            out["masquerade"] = True
        elif "accept" in e:
            out["verdict"] = "accept"
        elif "drop" in e:
            out["verdict"] = "drop"
    return out


def reconciler_table(ruleset: dict[str, Any], table: str = "reconciler") -> dict[str, Any] | None:
    """The firewall area as the reconciler's table holds it, or None without that table.

    `inbound` is present only when the input chain filters (policy drop): without it the
    table does not restrict inbound traffic, like a spec without `firewall.inbound`."""
    items = ruleset.get("nftables", [])
    if not any(
        "table" in i and i["table"]["name"] == table and i["table"]["family"] == "inet"
        for i in items
    ):
        return None
    out: dict[str, Any] = {"forward": [], "snat": False}
    services: dict[str, list[str]] = {}
    filtering = any(
        "chain" in i
        and i["chain"]["table"] == table
        and i["chain"].get("hook") == "input"
        and i["chain"].get("policy") == "drop"
        for i in items
    )
    inbound: list[dict[str, Any]] = []
    for item in items:
        rule = item.get("rule")
        if not rule or rule.get("table") != table or rule.get("family") != "inet":
            continue
        kind, _, name = str(rule.get("comment", "")).partition(":")
        f = _rule_fields(rule.get("expr", []))
        if kind == "inbound":
            entry: dict[str, Any] = {
                "name": name,
                "port": f.get("dport"),
                "protocol": f.get("protocol"),
            }
            if f.get("sources"):
                entry["source"] = f["sources"][0]
            if f.get("sport") is not None:
                entry["sourcePort"] = f["sport"]
            inbound.append(entry)
        elif kind == "forward":
            fwd: dict[str, Any] = {
                "name": name,
                "port": f.get("dport"),
                "protocol": f.get("protocol"),
                "toAddress": f.get("toAddress"),
                "toPort": f.get("toPort") if f.get("toPort") is not None else f.get("dport"),
            }
            if f.get("sources"):
                fwd["source"] = f["sources"][0]
            if f.get("sport") is not None:
                fwd["sourcePort"] = f["sport"]
            out["forward"].append(fwd)
        elif kind == "snat" and f.get("masquerade"):
            out["snat"] = True
        elif kind == "hostServices":
            services.setdefault(name, []).extend(f.get("sources", []))
    out["hostServices"] = [{"name": n, "sources": s} for n, s in services.items()]
    if filtering:
        out = {"inbound": inbound, **out}
    return out
