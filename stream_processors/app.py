"""The Faust application: raw topics in; clean topics, quarantine and state changelogs out.

The raw topics' messages reach the runtime a fetch at a time (`fetch.BatchingConsumer`, which
bypasses Faust's per-message stream path; agents still subscribe the topics, so assignment,
acks and co-partitioning are Faust's); each goes to the pure `EventProcessor` and the results
go per source partition to `PartitionWriter`. A timer reloads reference data, expires the
de-dup window and, for partitions holding parked messages whose grace window ended, sends a
tick to `<app id>-ticks`; the tick comes back through the same batches and decides those parked
messages. Batches and timer share one lock, so state is never touched by two of them at once.
Another timer refreshes the consumer-lag gauge (`lag`).
`/health` and `/metrics` are pages of Faust's own web server.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from platform_common.config import Settings
from platform_common.topics import TopicSpec
from stream_processors import metrics
from stream_processors.fetch import batching_consumer
from stream_processors.runtime import StreamRuntime
from stream_processors.settings import StreamSettings, faust_app_id
from stream_processors.tables import ChangelogTable, add_table

TICKS_RETENTION_S = 3600.0


@dataclass
class StreamApp:
    app: faust.App
    runtime: StreamRuntime
    ticks_topic: TopicSpec
    """Created before the worker joins its group. Faust would declare it itself, but while the
    group forms; an assignment computed from metadata that lacks it leaves its partitions
    unassigned until some later rebalance (up to the 5-minute metadata refresh), and parked
    messages would wait that long for their decision."""


def build_app(settings: Settings, stream: StreamSettings) -> StreamApp:
    """A fully wired Faust app for `settings` (topic prefix, brokers) and `stream` settings."""
    exactly_once = stream.processing_guarantee == "exactly_once"
    app_id = faust_app_id(settings, stream)
    app = faust.App(
        app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka.bootstrap_servers.split(",")],
        broker_client_id=settings.kafka.client_id,
        processing_guarantee=stream.processing_guarantee,
        store="memory://",
        autodiscover=False,
        datadir=str(stream.data_dir / app_id),
        topic_partitions=settings.kafka.default_partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        table_standby_replicas=0,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=stream.session_timeout_s,
        broker_heartbeat_interval=max(1.0, stream.session_timeout_s / 5),
        broker_commit_interval=stream.commit_interval_s,
        broker_max_poll_records=max(500, stream.batch_max),
        stream_buffer_maxsize=max(4096, 2 * stream.batch_max),
        producer_max_batch_size=900_000,
        producer_linger=0.005,
        web_enabled=True,
        web_bind=stream.web_host,
        web_host=stream.web_host,
        web_port=stream.web_port,
    )
    runtime = StreamRuntime(app, settings, stream, exactly_once)
    partitions = settings.kafka.default_partitions
    retention_s = (stream.dedupe_retention_days + 1) * 86_400
    seen = add_table(
        app,
        ChangelogTable(
            app,
            name="seen",
            loader=runtime.load_seen,
            reset=runtime.reset,
            retention_s=retention_s,
            partitions=partitions,
            beacon=app.tables.beacon,
        ),
    )
    state = add_table(
        app,
        ChangelogTable(
            app,
            name="state",
            loader=runtime.load_state,
            reset=runtime.reset,
            partitions=partitions,
            beacon=app.tables.beacon,
        ),
    )
    runtime.seen_changelog = seen.changelog_topic_name
    runtime.state_changelog = state.changelog_topic_name
    source = app.topic(*runtime.family_by_topic, key_type=bytes, value_type=bytes)
    ticks = app.topic(
        runtime.ticks_topic,
        partitions=partitions,
        internal=True,
        retention=TICKS_RETENTION_S,
        key_type=bytes,
        value_type=bytes,
    )
    metrics.initialise()

    async def subscribe(stream_: faust.StreamT[bytes]) -> None:
        # Subscribes its topics (assignment, acks, co-partitioning with the tables); their
        # messages never reach it: `BatchingConsumer` hands them to the runtime a fetch at a time.
        async for _ in stream_:  # pragma: no cover
            raise RuntimeError("message on the per-message path")

    app.agent(source, name=f"{app_id}.process")(subscribe)
    app.agent(ticks, name=f"{app_id}.ticks")(subscribe)
    # An instance attribute: this app's consumer only; the transport resolves its loop lazily.
    consumer_class = batching_consumer(
        [*runtime.family_by_topic, runtime.ticks_topic],
        runtime.handle_messages,
        runtime.lag,
        stream.batch_max,
        stream.batch_within_s,
        lambda: runtime.writer.delivery_error,
    )
    setattr(app.transport, "Consumer", consumer_class)  # noqa: B010

    async def housekeeping() -> None:
        await runtime.housekeeping()

    app.timer(interval=stream.recheck_interval_s, name=f"{app_id}.housekeeping")(housekeeping)

    async def refresh_lag() -> None:
        runtime.refresh_lag()

    app.timer(interval=stream.lag_refresh_s, name=f"{app_id}.lag")(refresh_lag)

    async def health_page(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        report = runtime.health()
        return view.json(report.as_dict(), status=200 if report.is_healthy else 503)

    async def metrics_page(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        metrics.refresh_gauges(runtime.processor)
        runtime.refresh_lag()
        return view.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    app.page("/health", name="health")(health_page)
    app.page("/metrics", name="metrics")(metrics_page)
    ticks_spec = TopicSpec(runtime.ticks_topic, partitions, int(TICKS_RETENTION_S * 1000))
    return StreamApp(app, runtime, ticks_spec)
