"""`export`: the events, participant status and coverage for auditors, as JSONL, CSV or
Parquet, streamed, personal fields left encrypted, each cut at a tree size and root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.services.audit import audit_of, b64
from api.services.moments import parse_moment
from api.services.progress import Tracker, no_progress
from domain.errors import InvalidInputError
from domain.values import Period
from infra.audit.export import (
    COVERAGE_COLUMNS,
    EVENT_COLUMNS,
    FORMATS,
    ExportCut,
    coverage_rows,
    event_rows,
    live_position,
    status_rows,
    write_export,
)
from infra.audit.proofs import position_recorded_by
from infra.bootstrap import System, projection_mapper
from projections.participant_status import COLUMNS as STATUS_COLUMNS

KINDS = ("events", "status", "coverage")


@dataclass(frozen=True)
class ExportAnswer:
    kind: str
    format: str
    out: str
    rows: int
    cut: ExportCut
    first_position: int | None
    last_position: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "out": self.out,
            "rows": self.rows,
            **self.cut.as_dict(),
            "first_position": self.first_position,
            "last_position": self.last_position,
        }


def export(
    system: System,
    *,
    kind: str,
    fmt: str,
    out: Path,
    since: str | None = None,
    until: str | None = None,
    tracker: Tracker = no_progress,
) -> ExportAnswer:
    """Write one export. Events: `since`/`until` are log positions or recorded times
    (ISO dates or timestamps), inclusive. Coverage: months, `YYYY-MM`. Status: the whole
    table. The tree is first sealed to the head of the log; the export says the tree size
    and root that cover its rows (events), or the read model's position (status, coverage)."""
    if kind not in KINDS:
        raise InvalidInputError("unknown_export", f"Export one of {', '.join(KINDS)}.")
    if fmt not in FORMATS:
        raise InvalidInputError("unknown_format", f"Format is one of {', '.join(FORMATS)}.")
    audit = audit_of(system)
    audit.sealer.catch_up()
    columns: tuple[str, ...]
    first: int | None
    final: int | None
    if kind == "events":
        size, last = audit.tree.size()
        start = _position(system, since, after=True) if since else 1
        stop = min(_position(system, until, after=False), last) if until else last
        cut = ExportCut(size, audit.tree.root(size)[1], last)
        first_index = audit.tree.size_at_position(start - 1)
        pages: Any = event_rows(
            system.ledger.recorder, first_index=first_index, start=start, stop=stop
        )
        columns, first, final = EVENT_COLUMNS, start, stop
    else:
        system.runner.catch_up()
        position = live_position(system.views, kind)
        size = audit.tree.size_at_position(position)
        cut = ExportCut(size, audit.tree.root(size)[1], position)
        first = final = None
        if kind == "status":
            if since or until:
                raise InvalidInputError(
                    "status_has_no_range",
                    "The status export is the whole table: no --since/--until.",
                )
            pages, columns = status_rows(system.views), STATUS_COLUMNS
        else:
            low = Period.parse(since).index if since else 0
            high = Period.parse(until).index if until else 10**6
            pages, columns = coverage_rows(system.views, low, high), COVERAGE_COLUMNS
    meta = {
        "export": kind,
        **cut.as_dict(),
        "origin": audit.signer.name,
        "verifier_key": audit.signer.verifier_key,
        "since": since,
        "until": until,
    }
    with tracker(f"exporting {kind}", None) as update:
        rows = write_export(
            pages, columns, out, fmt, meta, progress=lambda done: update(done, None)
        )
    return ExportAnswer(kind, fmt, str(out), rows, cut, first, final)


def _position(system: System, text: str, *, after: bool) -> int:
    """A log position from a number or a recorded time. `since` (after=True): the first
    position recorded at or after it (a date: its start); `until`: the last recorded by
    it (a date: its end)."""
    if text.strip().isdigit():
        return int(text)
    moment = parse_moment(text)
    if after:  # just before the start of the day or the instant given
        moment = (
            moment.replace(hour=0, minute=0, second=0, microsecond=0)
            if len(text.strip()) == 10
            else moment
        ) - timedelta(microseconds=1)
    last = position_recorded_by(system.ledger.recorder, projection_mapper(system.ledger), moment)
    return last + 1 if after else last


__all__ = ["KINDS", "ExportAnswer", "b64", "export"]
