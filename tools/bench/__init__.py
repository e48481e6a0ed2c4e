"""The benchmark suite behind `ledger bench`: every figure beside a baseline measured in
the same run, on the same data, on the same machine.

Per store (SQLite file, PostgreSQL schema) and per scale (participants x months of the
synthetic population of `tools.seed`):

- `ingest_bulk_vs_raw_sqlite`: `seed_population` (enroll_many + record_contributions in
  batches of 500, the rare life events one command each) in events/s, against the
  physical limit: our own stored rows, read back, inserted by a bare `executemany` in one
  transaction into a table shaped like the library's `stored_events` (PostgreSQL: `COPY`);
  above 3 million rows a sample of about 2 million (one position in k) stands for them.
- `store_bytes_per_event`: the store on disk per event, against that bare table.
- `catch_up_vs_decode_loop`, `rebuild_vs_decode_loop`: the projection runner from
  position 0 into a fresh view store, and `runner.rebuild()` as `ledger projections
  rebuild` runs it (split across `LEDGER_REBUILD_WORKERS` processes, when above 1, once
  the log has 100,000 positions), in log positions/s against the bare loop
  (`tools.bench.decode`: one SQL query over the events table in position order, fetched
  in pages, `orjson.loads` on each state), in one process;
  `rebuild_one_process_vs_decode_loop`: the same rebuild unsplit, where the split applies.
  `catch_up_vs_mapper_decode_loop`, `rebuild_vs_mapper_decode_loop`: the same runs in
  events applied/s (the events the projections' topics match) against the library's loop
  (`select_notifications`, same pages and topics, + the projections' mapper).
- `status_read_p50_ms` / `_p99_ms`: `ledger.get_status(id)` over random participants,
  against a bare `recorder.select_events(id)` of the same participants;
  `status_row_read_p99_ms`: the `participant_status` read model's row.
- `coverage_query_<level>_p50_ms` / `_p99_ms`: `projections.queries.coverage`.
- `coverage_recorded_at_nation_p50_ms` / `_p99_ms`, `coverage_as_of_nation_...`: the whole
  nation's coverage as recorded at T (when the log's middle position was recorded) / on
  business date D (midway through the history) (`projections.clock_queries`, no replay),
  against the present-day query of the same month.
- `ingest_single_vs_naive`: single commands (`enroll`, then `record_contribution` one by
  one per person) from 40 concurrent callers through the group committer
  (`infra.group_commit`: each command acknowledged after the commit that holds it) on a
  fresh store, against the naive use of the library on the same facts: a plain
  `Application` with its default JSONTranscoder, no encryption, one save per command.
- `ingest_single_serial_vs_naive`: the same commands from one caller, a transaction each.
- `ingest_single_loaded`: the same single commands into the store seeded at this scale,
  against the fresh-store figure (how the write path ages as the store grows).
- `audit_seal_vs_read_sha256`, `audit_verify_vs_read_sha256`: the audit log's sealer
  (an empty tree to the head) and `verify`, against reading the same events and
  SHA-256-ing each one's stored bytes; `audit_sha256_in_memory` for scale.
- `memory_<phase>_peak_mb`: peak resident memory of each phase (VmHWM, reset per phase).

Nothing here fails on a number: a phase that raises is recorded as an error and the
suite goes on. `write_markdown` renders a `Report` as BENCHMARKS.md, with "How it grows"
(`growth`) and "A national year" (`national`: hours for 840 million events at each rate).
"""

from tools.bench.ingest import single_command_rows
from tools.bench.markdown import render_markdown, write_markdown
from tools.bench.report import Figure, Phase, Report, keep_earlier, write_json
from tools.bench.stats import (
    check_target,
    latency_figures,
    make_figure,
    median,
    percentile,
    ratio,
    spread,
)
from tools.bench.suite import run_suite

__all__ = [
    "Figure",
    "Phase",
    "Report",
    "check_target",
    "keep_earlier",
    "latency_figures",
    "make_figure",
    "median",
    "percentile",
    "ratio",
    "render_markdown",
    "run_suite",
    "single_command_rows",
    "spread",
    "write_json",
    "write_markdown",
]
