"""The `reconcile` command line: parsing and output only; the work is done elsewhere.

- `options`: the options several commands share (state dir, secrets dir, backend, which
  spec, --json), defined once, and the values they stand for.
- `commands`: every command, registered once (name, help, its options, its handler).
- `main`: the parser built from that table and the one place errors meet the user.
- one module per area for the handlers: `device` (validate, schema, plan, apply, observe,
  history, rollback), `sim`, `fleet`, `agent` (agent, status, suspend, resume), `serve`,
  `modbus`.
"""

from reconciler.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
