"""Stream processing: validation, de-duplication, late arrivals and the quarantine.

Faust agents between `events.<family>.raw` and `events.<family>.clean` (`stream_cli worker`),
and the triage tools for the quarantine (`quarantine_cli`). The processing core
(`EventProcessor`) is plain Python; `build_app` wires it into Faust.
"""

from __future__ import annotations

from stream_processors.cli import quarantine_cli, stream_cli
from stream_processors.core import EventProcessor, Outcome, ProcessorConfig, RawEvent
from stream_processors.quarantine import FORMAT as QUARANTINE_FORMAT
from stream_processors.reasons import Finding, QuarantineReason
from stream_processors.settings import StreamSettings, stream_settings

__all__ = [
    "QUARANTINE_FORMAT",
    "EventProcessor",
    "Finding",
    "Outcome",
    "ProcessorConfig",
    "QuarantineReason",
    "RawEvent",
    "StreamSettings",
    "quarantine_cli",
    "stream_cli",
    "stream_settings",
]
