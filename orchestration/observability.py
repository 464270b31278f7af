"""Where does a trace id show up? Follow one id from the gateway to the warehouse.

The gateway stamps `metadata.trace_id` and a `trace_id` Kafka header; the stream processor copies
source headers onto clean records; the lake keeps every header; the warehouse stores the event's
trace_id column. Logs should carry it too (`platform_common.logging.trace_id_var`). This module
looks in each place, so the e2e test and operators can see what is covered and what is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestration import kafka_state
from orchestration.reconcile import EVENT_TABLES
from orchestration.scan import header_value, messages
from platform_common.config import Settings
from platform_common.logging import TRACE_HEADER
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic, raw_topic


@dataclass
class TraceReport:
    trace_id: str
    raw_header: bool = False
    clean_header: bool = False
    lake_header: bool = False
    warehouse_column: bool = False
    logs: dict[str, bool] = field(default_factory=dict)

    @property
    def data_path_complete(self) -> bool:
        return self.raw_header and self.clean_header and self.lake_header and self.warehouse_column

    def gaps(self) -> list[str]:
        missing = [name for name in ("raw_header", "clean_header", "lake_header", "warehouse_column")
                   if not getattr(self, name)]  # fmt: skip
        return missing + [f"log:{name}" for name, seen in sorted(self.logs.items()) if not seen]


def _in_topic(settings: Settings, topic: str, trace_id: str) -> bool:
    marks = kafka_state.watermarks(settings, [topic])
    wanted = trace_id.encode()
    return any(header_value(message.headers(), TRACE_HEADER) == wanted for message in messages(settings, topic, marks))


def follow(settings: Settings, family: Family, trace_id: str, log_dir: Path | None = None) -> TraceReport:
    report = TraceReport(trace_id)
    prefix = settings.kafka.topic_prefix
    report.raw_header = _in_topic(settings, raw_topic(family, prefix), trace_id)
    report.clean_header = _in_topic(settings, clean_topic(family, prefix), trace_id)
    from sinks.lake import LakeReader

    reader = LakeReader(settings)
    for item in reader.list_objects(family):
        for record in reader.read_object(item.key):
            if any(h.key == TRACE_HEADER and h.value == trace_id.encode() for h in record.headers):
                report.lake_header = True
                break
        if report.lake_header:
            break
    with connect(Role.WRITER, settings) as conn:
        from psycopg import sql

        query = sql.SQL("SELECT count(*) FROM {} WHERE trace_id = %s").format(
            sql.Identifier("warehouse", EVENT_TABLES[family])
        )
        row = conn.execute(query, (trace_id,)).fetchone()
    report.warehouse_column = bool(row and row[0])
    if log_dir is not None:
        for path in sorted(log_dir.glob("*.log")):
            text = path.read_text(encoding="utf-8", errors="replace")
            report.logs[path.stem] = trace_id in text
    return report
