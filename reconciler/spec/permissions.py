"""The permission vocabulary of `access.roles[].permissions`: `area:verb`.

Areas are the spec's areas (what a role may read or change on the device) and three of
the status endpoint's: `status` (read the endpoint at all), `processes` (see process
command lines, which may carry secrets), `metrics` (the Prometheus metrics). Verbs are
`read` and `write`; `*` stands for any area or any verb. A word outside this list is a
validate-time error with a did-you-mean, so `status:raed` cannot silently grant nothing.
"""

import difflib

from reconciler.areas import AREA_NAMES

AREAS: tuple[str, ...] = ("status", "processes", "metrics", *AREA_NAMES, "agent")
"""What a permission may name: the endpoint's own reads, every spec area (from the one
area registry), and the agent."""
VERBS: tuple[str, ...] = ("read", "write")
STATUS_READ = "status:read"
PROCESSES_READ = "processes:read"
METRICS_READ = "metrics:read"

PATTERN = f"^(\\*|{'|'.join(AREAS)}):(\\*|{'|'.join(VERBS)})$"
"""The vocabulary as a JSON-schema pattern (editors flag `status:raed` too)."""

_ALL = [f"{a}:{v}" for a in ("*", *AREAS) for v in ("*", *VERBS)]


def check_permission(value: str) -> str:
    """`value` if it is in the vocabulary; else ValueError naming the closest one."""
    area, sep, verb = value.partition(":")
    if sep and area in ("*", *AREAS) and verb in ("*", *VERBS):
        return value
    close = difflib.get_close_matches(value, _ALL, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown permission {value!r}: expected AREA:VERB with AREA one of "
        f"{', '.join(AREAS)} or '*' and VERB read, write or '*'{hint}"
    )
