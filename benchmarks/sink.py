"""Sink benchmarks. Warehouse part: the warehouse sink's events/s on N clean events (default 1M
from the sample-data generator) beside the raw baseline measured in the same run on the same
messages: consume them from Kafka, decode them and COPY the rows into empty tables (no merge,
no dimensions, no facts). The COPY of already-decoded rows alone is reported too
(`ratio_to_copy_only`: the issue's "raw COPY rate of the same rows"), and so is a raw COPY of
everything the sink landed (event rows, dimensions, facts, state) into empty tables beside the
sink's own rate of landing those rows (`ratio_to_copy_of_output`): the sink writes about 4.8
rows per event, which bounds its events/s against a COPY of one row per event.

    .venv/bin/python benchmarks/sink.py [--events 1000000] [--only warehouse]

Prints progress, then as its last line one JSON object (CONTRIBUTING.md): the top-level figures
are the warehouse sink's; every section's full result (the lake sink's MB/s under "lake") is
under "sections". `--only warehouse|lake` runs one.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _scratch import drop_stack, scratch_database
from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from psycopg import sql

from platform_common.config import Settings, get_settings
from platform_common.kafka import make_consumer
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic

CUSTOMERS_PER_MILLION = 6_700  # 24 months of generator history, ~1.01M events


def _say(message: str) -> None:
    print(f"[sink-bench] {message}", flush=True)


def _process_cpu_seconds(pid: int) -> float:
    """user + system CPU of a process on this machine (a PostgreSQL backend here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _BackendCpu:
    """Samples the CPU time of the backends of one application_name until stopped (the sink's
    connections close before we could read them at the end). Misses at most one interval."""

    def __init__(self, settings: Settings, application_name: str) -> None:
        self._settings, self._name = settings, application_name
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> _BackendCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        with connect(Role.ADMIN, self._settings, autocommit=True) as conn:
            while not self._stop.wait(0.25):
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
                    (self._name,),
                ).fetchall()
                for (pid,) in rows:
                    self._seen[pid] = max(self._seen.get(pid, 0.0), _process_cpu_seconds(pid))

    @property
    def seconds(self) -> float:
        return sum(self._seen.values())


def _rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _publish(settings_json: str, events: int) -> None:
    """Runs in a spawned process so the generator's memory never counts in the sink's RSS."""
    from platform_common.kafka import make_producer
    from producers.sample_data import GenerationParams, generate
    from schemas import partition_key, serializer, validate_event

    settings = Settings.model_validate_json(settings_json)
    customers = max(50, events * CUSTOMERS_PER_MILLION // 1_000_000)
    result = generate(GenerationParams(customers=customers, months=24, late_share=0.01))
    producer, codec = make_producer(settings), serializer()
    for sent, (family, event) in enumerate(result.events(), start=1):
        if sent > events:
            break
        record = validate_event(family, event)
        topic = clean_topic(family, settings.kafka.topic_prefix)
        producer.produce(topic, value=codec.encode(family.value, record), key=partition_key(family, record))
        if sent % 100_000 == 0:
            producer.flush(120)
            _say(f"published {sent:,}")
        else:
            producer.poll(0)
    producer.flush(120)


def _row_counts(settings: Settings, tables: tuple[str, ...]) -> dict[str, int]:
    counts = {}
    with connect(Role.ADMIN, settings) as conn:
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("warehouse", table))).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def _baseline(settings: Settings, events: int) -> dict[str, float]:
    """Consume + decode + binary COPY into empty tables with the staging columns, no indexes."""
    import schemas
    from sinks.warehouse.rows import STAGING_TABLE, Position, column_types, columns, to_row

    families = {clean_topic(family, settings.kafka.topic_prefix): family for family in Family}
    consumer = make_consumer(f"bench-baseline-{uuid.uuid4().hex[:8]}", settings)
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [TopicPartition(topic, p, OFFSET_BEGINNING) for topic in families for p in metadata.topics[topic].partitions]
    )
    codec = schemas.serializer()
    rows: dict[Family, list[tuple[Any, ...]]] = {family: [] for family in Family}
    with connect(Role.WRITER, settings) as conn:
        for family in Family:
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {})").format(
                    sql.Identifier("staging", f"baseline_{family.value}"),
                    sql.Identifier("staging", STAGING_TABLE[family]),
                )
            )
        conn.commit()
        backend = conn.info.backend_pid
        backend_cpu_before, own_cpu_before = _process_cpu_seconds(backend), _own_cpu_seconds()
        started = time.perf_counter()
        seen = 0
        while seen < events:
            for message in consumer.consume(num_messages=10_000, timeout=1.0):
                if message.error() or message.value() is None:
                    continue
                family = families[message.topic()]  # type: ignore[index]
                decoded = codec.decode(message.value())  # type: ignore[arg-type]
                position = Position(message.topic(), message.partition(), message.offset())  # type: ignore[arg-type]
                rows[family].append(to_row(family, decoded.record, decoded.writer_version, position, False))
                seen += 1
        decoded_at = time.perf_counter()

        def copy_all(prefix: str) -> None:
            with conn.cursor() as cursor:
                for family, family_rows in rows.items():
                    target = sql.Identifier("staging", f"{prefix}_{family.value}")
                    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns(family))
                    with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, names)) as copy:
                        copy.set_types(column_types(family))
                        for row in family_rows:
                            copy.write_row(row)
            conn.commit()

        copy_all("baseline")
        finished = time.perf_counter()
        baseline_cpu = _own_cpu_seconds() - own_cpu_before + _process_cpu_seconds(backend) - backend_cpu_before
        for family in Family:  # the same rows again into fresh empty tables: COPY alone
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {})").format(
                    sql.Identifier("staging", f"copyonly_{family.value}"),
                    sql.Identifier("staging", STAGING_TABLE[family]),
                )
            )
        conn.commit()
        copy_started = time.perf_counter()
        copy_all("copyonly")
        copy_finished = time.perf_counter()
    consumer.close()
    return {
        "baseline_events_per_s": seen / (finished - started),
        "baseline_seconds": finished - started,
        "baseline_decode_seconds": decoded_at - started,
        "copy_only_events_per_s": seen / (copy_finished - copy_started),
        "baseline_cpu_seconds": baseline_cpu,
    }


def _copy_output(settings: Settings) -> dict[str, float]:
    """The rows the sink landed, COPYed (binary) into empty tables of the same columns (no
    index, no constraint but NOT NULL) in one transaction: the bulk-load cost of the sink's own
    output, a floor under any sink of this model (context beside `ratio_to_copy_only`, which
    is the issue's figure). The rows are read out first, so only the COPY in is timed."""
    from sinks.warehouse.store import TABLE_OF_LABEL

    tables = sorted(set(TABLE_OF_LABEL.values()))
    dumps: dict[str, bytes] = {}
    rows = 0
    with connect(Role.WRITER, settings) as conn:
        for table in tables:
            source = sql.Identifier("warehouse", table)
            with conn.cursor() as cursor:
                with cursor.copy(sql.SQL("COPY {} TO STDOUT (FORMAT BINARY)").format(source)) as copy:
                    dumps[table] = b"".join(bytes(block) for block in copy)
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(source)).fetchone()
                rows += int(row[0]) if row else 0
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {})").format(sql.Identifier("staging", f"copyout_{table}"), source)
            )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for table in tables:
                target = sql.Identifier("staging", f"copyout_{table}")
                with cursor.copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(target)) as copy:
                    copy.write(dumps[table])
        conn.commit()
        seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def warehouse_benchmark(events: int = 1_000_000, batch_max_events: int | None = None) -> dict[str, Any]:
    from sinks.warehouse import WarehouseSink, warehouse_settings
    from sinks.warehouse.sqlfiles import TIMINGS

    base = get_settings()
    name = f"bench_wh_{uuid.uuid4().hex[:10]}"
    settings = scratch_database(base, name, f"{name}.")
    try:
        _say(f"generating and publishing {events:,} clean events to {settings.kafka.topic_prefix}*")
        publisher = multiprocessing.get_context("spawn").Process(
            target=_publish, args=(settings.model_dump_json(), events)
        )
        publisher.start()
        publisher.join()
        if publisher.exitcode != 0:
            raise RuntimeError("publishing the benchmark events failed")

        sink = warehouse_settings(settings).model_copy(update={"metrics_port": 0})
        if batch_max_events:
            sink = sink.model_copy(update={"batch_max_events": batch_max_events})
        _say(f"warehouse sink: batches of up to {sink.batch_max_events:,} events")
        own_cpu_before = _own_cpu_seconds()
        load_before = os.getloadavg()
        started = time.perf_counter()
        with _BackendCpu(settings, "warehouse-sink") as backend_cpu:
            report = WarehouseSink(settings, sink).run(until_caught_up=True)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
        sink_cpu = _own_cpu_seconds() - own_cpu_before + backend_cpu.seconds
        rss = _rss_peak_mb()
        final_rows = _row_counts(settings, ("subscriptions_snapshot", "revenue_daily", "usage_daily", "usage_event"))
        _say(f"sink: {report.messages:,} events in {seconds:.1f}s ({report.batches} batches)")
        _say("baseline: consume + decode + COPY into empty tables")
        baseline = _baseline(settings, report.messages)
        _say(f"baseline: {baseline['baseline_seconds']:.1f}s")
        _say("raw COPY of the rows the sink landed into empty tables")
        output = _copy_output(settings)
        _say(f"copy of {output['rows']:,} landed rows: {output['seconds']:.1f}s")
        events_per_s = report.messages / seconds
        return {
            "events": report.messages,
            "events_per_s": round(events_per_s, 1),
            "seconds": round(seconds, 2),
            "baseline_events_per_s": round(baseline["baseline_events_per_s"], 1),
            "ratio_to_baseline": round(events_per_s / baseline["baseline_events_per_s"], 3),
            "copy_only_events_per_s": round(baseline["copy_only_events_per_s"], 1),
            "ratio_to_copy_only": round(events_per_s / baseline["copy_only_events_per_s"], 3),
            "baseline_decode_seconds": round(baseline["baseline_decode_seconds"], 2),
            # The rows the sink landed in the warehouse (events, dimensions, facts, state) per
            # second of its run, beside a raw binary COPY of exactly those rows into empty tables.
            "output_rows": int(output["rows"]),
            "output_rows_per_s": round(output["rows"] / seconds, 1),
            "copy_output_rows_per_s": round(output["rows_per_s"], 1),
            "copy_output_seconds": round(output["seconds"], 2),
            "ratio_to_copy_of_output": round(output["seconds"] / seconds, 3),
            # CPU seconds (this process + its PostgreSQL backends): unlike wall time, not inflated
            # by whatever else the 2 shared cores are running.
            "cpu_seconds": round(sink_cpu, 1),
            "baseline_cpu_seconds": round(baseline["baseline_cpu_seconds"], 1),
            "cpu_ratio_to_baseline": round(baseline["baseline_cpu_seconds"] / sink_cpu, 3),
            "rss_mb": round(rss, 1),
            # The machine is shared: 1/5/15-minute load averages around the sink's run, and at the end.
            "load_average_sink_start": [round(value, 2) for value in load_before],
            "load_average_sink_end": [round(value, 2) for value in load_after],
            "load_average_end": [round(value, 2) for value in os.getloadavg()],
            "batches": report.batches,
            "batch_max_events": sink.batch_max_events,
            "rows_written_by_table": report.rows_by_table,
            "final_rows_by_table": final_rows,
            "sql_seconds": {label: round(value, 2) for label, value in sorted(TIMINGS.items(), key=lambda kv: -kv[1])},
        }
    finally:
        drop_stack(base, settings)


def lake_section(events: int) -> dict[str, Any]:
    """The lake sink's MB/s and events/s (benchmarks/sink_lake.py, run as a script: it is its own
    module so it can also be run alone), against a raw consume + write baseline of its own."""
    from sink_lake import lake_benchmark  # benchmarks/ is the script directory: sys.path[0]

    result: dict[str, Any] = lake_benchmark(events, 10_000, "full", progress=_say)
    return result


SECTIONS: dict[str, Callable[..., dict[str, Any]]] = {"warehouse": warehouse_benchmark, "lake": lake_section}
STANDARD_KEYS = ("events_per_s", "p50_ms", "p99_ms", "rss_mb", "baseline_events_per_s", "ratio_to_baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--only", choices=sorted(SECTIONS), default=None)
    parser.add_argument("--batch-max-events", type=int, default=None)
    args = parser.parse_args()
    sections: dict[str, dict[str, Any]] = {}
    for name, run in SECTIONS.items():
        if args.only and name != args.only:
            continue
        kwargs: dict[str, Any] = {"events": args.events}
        if name == "warehouse" and args.batch_max_events:
            kwargs["batch_max_events"] = args.batch_max_events
        sections[name] = run(**kwargs)
    primary = sections.get("warehouse") or next(iter(sections.values()))
    summary = {key: primary[key] for key in STANDARD_KEYS if key in primary}
    print(json.dumps({"benchmark": "sink", **summary, "sections": sections}))


if __name__ == "__main__":
    main()
