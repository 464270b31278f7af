"""Starting a stream worker: preflight checks, JSON logging, then Faust's worker loop.

Preflight refuses to start (with the reason) rather than fail later in a less readable way:
the raw, clean and quarantine topics must exist with matching partition counts (every output
goes to its source partition number), and aiokafka must be able to decompress lz4, the
compression the platform's producers use.
"""

from __future__ import annotations

import logging

import faust

from platform_common.config import Settings
from platform_common.kafka import ensure_topics, make_admin
from platform_common.logging import configure_logging
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic
from stream_processors.app import build_app
from stream_processors.settings import StreamSettings

log = logging.getLogger(__name__)


class PreflightError(RuntimeError):
    """The worker cannot run against this cluster/installation; the message says why."""


def preflight(settings: Settings) -> None:
    from aiokafka.codec import has_lz4

    if not has_lz4():
        raise PreflightError(
            "aiokafka cannot decompress lz4 (the platform producers' compression): install cramjam "
            "(the aiokafka[lz4] extra)"
        )
    prefix = settings.kafka.topic_prefix
    topics = make_admin(settings).list_topics(timeout=15).topics
    counts = {name: len(meta.partitions) for name, meta in topics.items()}
    needed = [raw_topic(f, prefix) for f in Family] + [clean_topic(f, prefix) for f in Family]
    missing = [name for name in [*needed, quarantine_topic(prefix)] if name not in counts]
    if missing:
        raise PreflightError(f"topics missing (run `ledgerline setup`): {missing}")
    expected = settings.kafka.default_partitions
    wrong = {name: counts[name] for name in needed if counts[name] != expected}
    if counts[quarantine_topic(prefix)] < expected:
        wrong[quarantine_topic(prefix)] = counts[quarantine_topic(prefix)]
    if wrong:
        raise PreflightError(f"topics must have {expected} partitions (like the raw topics): {wrong}")


def run_worker(settings: Settings, stream: StreamSettings) -> None:
    """Run until SIGTERM/SIGINT (graceful: in-flight batches finish and are committed)."""
    configure_logging(settings.log_level)
    preflight(settings)
    stream.data_dir.mkdir(parents=True, exist_ok=True)
    stream_app = build_app(settings, stream)
    ensure_topics([stream_app.ticks_topic], settings)
    log.info(
        "stream worker starting",
        extra={
            "app_id": stream_app.app.conf.id,
            "processing_guarantee": stream.processing_guarantee,
            "web": f"http://{stream.web_host}:{stream.web_port}",
        },
    )
    worker = faust.Worker(
        stream_app.app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    worker.execute_from_commandline()
