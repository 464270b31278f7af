"""`python -m orchestration.stages <stage> ...`: run one stage's typer app in a child process.

The demo starts the long-running processes through their public typer apps (the same ones
`ledgerline` mounts), so it works before and after they are mounted and never imports a
stage's internals. JSON logging is configured first, like every Ledgerline process.
"""

from __future__ import annotations

import importlib
import sys

from platform_common.config import get_settings
from platform_common.logging import configure_logging

STAGES: dict[str, tuple[str, str]] = {
    "gateway": ("producers", "gateway_cli"),
    "stream": ("stream_processors", "stream_cli"),
    "lake-sink": ("sinks.lake", "lake_sink_cli"),
    "warehouse-sink": ("sinks.warehouse", "warehouse_sink_cli"),
    "query-api": ("query_api", "api_cli"),
    "orchestration": ("orchestration", "orchestration_cli"),
}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in STAGES:
        sys.stderr.write(f"usage: python -m orchestration.stages {{{','.join(STAGES)}}} ...\n")
        raise SystemExit(2)
    module, attribute = STAGES[args[0]]
    configure_logging(get_settings().log_level)
    app = getattr(importlib.import_module(module), attribute)
    app(args=args[1:], prog_name=f"ledgerline {args[0]}")


if __name__ == "__main__":
    main()
