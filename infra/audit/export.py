"""Exports for auditors: the events, and the read models, as JSONL, CSV or Parquet.

Streaming: rows are read a page at a time and written as they come (Parquet one row
group per page), so memory does not grow with the log. Personal fields stay encrypted:
an event's state is exported as the bytes stored (base64 in JSONL and CSV). Each export
says what it was cut at: the tree size and root covering its rows, in a sidecar
`<file>.meta.json` and, for Parquet, in the file's own key-value metadata.
"""

from __future__ import annotations

import base64
import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from eventsourcing.persistence import ApplicationRecorder

from domain.errors import InvalidInputError
from infra.audit.leaves import notification_leaf
from infra.audit.merkle import leaf_hash
from projections.coverage import CoverageProjection
from projections.generations import live_tables
from projections.participant_status import COLUMNS as STATUS_COLUMNS
from projections.participant_status import ParticipantStatusProjection
from projections.store import ViewStore

FORMATS = ("jsonl", "csv", "parquet")
EVENT_COLUMNS = (
    "position",
    "leaf_index",
    "originator_id",
    "originator_version",
    "topic",
    "recorded_at",
    "state",
    "leaf_hash",
)
COVERAGE_COLUMNS = ("month", "village", "active", "jkk", "jkm", "jht")
Writer = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class ExportCut:
    """What the export was cut at."""

    tree_size: int
    root: bytes
    position: int  # the last log position the tree covers

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": base64.b64encode(self.root).decode(),
            "position": self.position,
        }


def event_rows(
    recorder: ApplicationRecorder, *, first_index: int, start: int, stop: int, page_size: int = 5000
) -> Iterator[list[dict[str, Any]]]:
    """Pages of event rows for positions start..stop (inclusive), numbering leaves from
    `first_index` (the leaf index of the first exported position)."""
    index, position = first_index, start - 1
    while position < stop:
        page = recorder.select_notifications(start=position + 1, limit=page_size, stop=stop)
        if not page:
            return
        rows = []
        for n in page:
            state = bytes(n.state)
            rows.append(
                {
                    "position": int(n.id),
                    "leaf_index": index,
                    "originator_id": str(n.originator_id),
                    "originator_version": int(n.originator_version),
                    "topic": n.topic,
                    "recorded_at": _recorded_at(state),
                    "state": state,
                    "leaf_hash": leaf_hash(notification_leaf(n)),
                }
            )
            index += 1
        position = int(page[-1].id)
        yield rows


def _recorded_at(state: bytes) -> str | None:
    """The event's recorded time as the transcoder stored it (ISO 8601, UTC)."""
    try:
        stamp = orjson.loads(state).get("timestamp")
        return str(stamp["_data_"]) if isinstance(stamp, dict) else None
    except (orjson.JSONDecodeError, KeyError, AttributeError):
        return None


def status_rows(store: ViewStore, page_size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """The live participant_status rows, in key order, a page at a time."""
    after = ""
    while True:
        with store.transaction() as tx:
            names, _ = live_tables(tx, ParticipantStatusProjection())
            rows = tx.query(
                f"SELECT {', '.join(STATUS_COLUMNS)} FROM "
                f"{names['participant_status']} WHERE participant_id > ? "
                f"ORDER BY participant_id LIMIT {int(page_size)}",
                (after,),
            )
        if not rows:
            return
        after = rows[-1][0]
        yield [dict(zip(STATUS_COLUMNS, row, strict=True)) for row in rows]


def coverage_rows(
    store: ViewStore, first_month: int = 0, last_month: int = 10**6, page_size: int = 5000
) -> Iterator[list[dict[str, Any]]]:
    """The live coverage_monthly cells for months in [first_month, last_month]."""
    from domain.values import Period

    month, village = first_month, ""
    while True:
        with store.transaction() as tx:
            names, _ = live_tables(tx, CoverageProjection())
            rows = tx.query(
                f"SELECT {', '.join(COVERAGE_COLUMNS)} FROM "
                f"{names['coverage_monthly']} WHERE (month > ? OR (month = ? AND "
                f"village > ?)) AND month <= ? ORDER BY month, village "
                f"LIMIT {int(page_size)}",
                (month, month, village, last_month),
            )
        if not rows:
            return
        month, village = int(rows[-1][0]), str(rows[-1][1])
        yield [
            {**dict(zip(COVERAGE_COLUMNS, row, strict=True)), "month": str(Period(int(row[0])))}
            for row in rows
        ]


def live_position(store: ViewStore, kind: str) -> int:
    projection = ParticipantStatusProjection() if kind == "status" else CoverageProjection()
    with store.transaction() as tx:
        return max(live_tables(tx, projection)[1], 0)


def write_export(
    pages: Iterable[list[dict[str, Any]]],
    columns: tuple[str, ...],
    out: Path,
    fmt: str,
    meta: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the pages to `out` in `fmt`, plus `<out>.meta.json`; returns the row count."""
    if fmt not in FORMATS:
        raise ValueError(f"format is one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, Callable[..., AbstractContextManager[Writer]]] = {
        "jsonl": _JsonLines,
        "csv": _Csv,
        "parquet": _Parquet,
    }
    writer = kinds[fmt](out, columns, meta)
    count = 0
    with writer as write:
        for page in pages:
            write(page)
            count += len(page)
            if progress:
                progress(count)
    sidecar = {**meta, "format": fmt, "rows": count, "columns": list(columns)}
    Path(f"{out}.meta.json").write_bytes(orjson.dumps(sidecar, option=orjson.OPT_INDENT_2))
    return count


def _text(value: Any) -> Any:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value


class _JsonLines(AbstractContextManager[Writer]):
    def __init__(self, out: Path, columns: tuple[str, ...], meta: dict[str, Any]) -> None:
        self.handle: IO[bytes] = out.open("wb")

    def __enter__(self) -> Writer:
        def write(page: list[dict[str, Any]]) -> None:
            self.handle.write(
                b"".join(
                    orjson.dumps({k: _text(v) for k, v in row.items()}) + b"\n" for row in page
                )
            )

        return write

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


class _Csv(AbstractContextManager[Writer]):
    def __init__(self, out: Path, columns: tuple[str, ...], meta: dict[str, Any]) -> None:
        self.handle = out.open("w", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(columns)
        self.columns = columns

    def __enter__(self) -> Writer:
        def write(page: list[dict[str, Any]]) -> None:
            self.writer.writerows([_text(row[c]) for c in self.columns] for row in page)

        return write

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


class _Parquet(AbstractContextManager[Writer]):
    def __init__(self, out: Path, columns: tuple[str, ...], meta: dict[str, Any]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InvalidInputError(
                "parquet_unavailable",
                "Parquet exports need pyarrow: pip install 'enrollment-ledger[parquet]'.",
            ) from None
        self.pa, self.pq = pa, pq
        self.out, self.columns = out, columns
        self.metadata = {b"ledger.export": orjson.dumps(meta)}
        self.writer: Any = None

    def __enter__(self) -> Writer:
        def write(page: list[dict[str, Any]]) -> None:
            table = self.pa.Table.from_pylist(page)
            table = table.select(list(self.columns))
            if self.writer is None:
                schema = table.schema.with_metadata(self.metadata)
                self.schema = schema
                self.writer = self.pq.ParquetWriter(str(self.out), schema)
            self.writer.write_table(table.cast(self.schema))

        return write

    def __exit__(self, *exc: object) -> None:
        if self.writer is None:  # no rows: an empty file with the columns still
            schema = self.pa.schema(
                [(c, self.pa.string()) for c in self.columns], metadata=self.metadata
            )
            self.writer = self.pq.ParquetWriter(str(self.out), schema)
        self.writer.close()
