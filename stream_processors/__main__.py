"""`python -m stream_processors worker` runs a stream worker (tests start subprocesses this way)."""

from __future__ import annotations

from platform_common.config import get_settings
from platform_common.logging import configure_logging
from stream_processors.cli import stream_cli

if __name__ == "__main__":
    configure_logging(get_settings().log_level)
    stream_cli()
