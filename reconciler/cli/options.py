"""Options several commands share, defined once, and the values they stand for.

Adding a shared option is one function here (its flag, its help) plus, when its value
needs work (a default, an object), one reader below. Nothing here imports more than the
standard library at module level: every command's parser is built on every start.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.areas import BACKENDS

if TYPE_CHECKING:
    from reconciler.drivers.portal.options import PortalOptions
    from reconciler.operations import Target
    from reconciler.secrets import SecretResolver

STATE_DIR_HELP = (
    "state directory (default: $RECONCILER_STATE_DIR, else /var/lib/reconciler as root, "
    "else the XDG state dir)"
)


def add_state_dir(p: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """`--state-dir D`. `nested` (on a subcommand of a command that has it too) keeps the
    value given before the subcommand: `sim --state-dir D set ...` and `sim set --state-dir D`."""
    extra = {"default": argparse.SUPPRESS} if nested else {}
    p.add_argument("--state-dir", metavar="DIR", help=STATE_DIR_HELP, **extra)  # type: ignore[arg-type]


def add_secrets_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="directory of secret files, mode 0600 (default: STATE/secrets)",
    )


def add_backend(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        default="sim",
        choices=BACKENDS,
        help=f"the device to talk to: {', '.join(BACKENDS)} (default: sim)",
    )
    add_portal(p)


def add_portal(p: argparse.ArgumentParser) -> None:
    """How `--backend portal` reaches its unit."""
    g = p.add_argument_group("portal backend (--backend portal)")
    g.add_argument("--endpoint", metavar="URL", help="the unit's portal URL, e.g. https://10.0.0.5")
    g.add_argument(
        "--credentials", metavar="NAME", help='secret holding "user:password" (never the value)'
    )
    g.add_argument("--account", choices=("os", "admin"), default="os", help="default: os")
    g.add_argument("--ca-cert", metavar="FILE", help="CA bundle to verify the unit's TLS with")
    g.add_argument("--insecure", action="store_true", help="do not verify TLS (lab units only)")


def add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        metavar="DIR",
        help="linux backend: manage the files of the tree under DIR (an image before first "
        "boot); commands that act on the live host are refused",
    )


def add_target(p: argparse.ArgumentParser, title: str = "which spec") -> None:
    """`--file F | --fleet DIR --device N`: the spec to work with."""
    g = p.add_argument_group(title)
    g.add_argument("--file", "-f", metavar="FILE", help="a Device YAML file")
    g.add_argument("--fleet", metavar="DIR", help="a fleet repo root (with --device)")
    g.add_argument("--device", metavar="NAME", help="device name in the fleet repo")


def add_device_options(p: argparse.ArgumentParser, title: str = "which spec") -> None:
    """What commands that plan or serve a device take: the spec, backend, state, secrets."""
    add_target(p, title)
    add_backend(p)
    add_state_dir(p)
    add_secrets_dir(p)


def add_json(p: argparse.ArgumentParser, text: str = "machine-readable output") -> None:
    p.add_argument("--json", action="store_true", help=text)


def add_log_level(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--log-level",
        default=default,
        choices=("debug", "info", "warning", "error"),
        help=f"log verbosity on stderr (default: {default})",
    )


def configure_logging(args: argparse.Namespace) -> None:
    """Log lines on stderr at `--log-level`, for the long-running commands."""
    import logging
    import sys

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


# --- the values ---------------------------------------------------------------------------


def state_dir(args: argparse.Namespace) -> Path:
    from reconciler.operations import default_state_dir

    given = getattr(args, "state_dir", None)
    return Path(given) if given else default_state_dir()


def secrets_dir(args: argparse.Namespace) -> Path | None:
    """`--secrets-dir`, else STATE/secrets; None when that directory does not exist."""
    given = getattr(args, "secrets_dir", None)
    path = Path(given) if given else state_dir(args) / "secrets"
    return path if path.is_dir() else None


def secrets(args: argparse.Namespace) -> SecretResolver:
    from reconciler.secrets import SecretResolver

    return SecretResolver(secrets_dir(args))


def portal(args: argparse.Namespace) -> PortalOptions | None:
    """--endpoint/--credentials/... of `--backend portal`; None for other backends."""
    if getattr(args, "backend", None) != "portal":
        return None
    from reconciler.drivers.portal.options import PortalOptions
    from reconciler.errors import OperationError

    if not args.endpoint or not args.credentials:
        raise OperationError("--backend portal needs --endpoint URL and --credentials NAME")
    return PortalOptions(
        args.endpoint, args.credentials, args.account, args.ca_cert, bool(args.insecure)
    )


def target(args: argparse.Namespace) -> Target:
    from reconciler.operations import load_target
    from reconciler.startup import spec_loading

    with spec_loading():  # the loader's imports too: a fleet loader's bring in pydantic
        return load_target(args.file, args.fleet, args.device)


def has_target(args: argparse.Namespace) -> bool:
    return bool(args.file or args.fleet or args.device)


def number_in(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number from `low` to `high` (seconds, a rate)."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"expected {low:g}..{high:g}, got {value}")
        return number

    return parse
