"""The benchmark suite end to end on a tiny scale, both stores: every figure the report
promises is measured beside its same-run baseline, and nothing fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import require_postgres
from tools.bench import Figure, Report, render_markdown, run_suite
from tools.bench import baselines as bench_baselines
from tools.bench import markdown as bench_markdown
from tools.bench import rebuild as rebuild_phase
from tools.bench import suite as bench_suite

RATIOS = (
    "ingest_single_vs_naive",
    "ingest_single_serial_vs_naive",
    "ingest_bulk_vs_raw_sqlite",
    "catch_up_vs_decode_loop",
    "catch_up_vs_mapper_decode_loop",
    "rebuild_vs_decode_loop",
    "rebuild_vs_mapper_decode_loop",
    "audit_seal_vs_read_sha256",
    "audit_verify_vs_read_sha256",
    "reimport_vs_first_import",
)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_tiny_run_measures_every_figure_against_its_baseline(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = require_postgres() if store == "postgres" else None
    # a log above 100 rows counts as big: the raw baseline inserts a sample of about 100
    monkeypatch.setattr(bench_baselines, "RAW_ALL_UP_TO", 100)
    monkeypatch.setattr(bench_baselines, "RAW_SAMPLE_ROWS", 100)
    lines: list[str] = []
    earlier = Report(
        started="2026-11-30T01:00:00+00:00",
        finished="2026-11-30T03:00:00+00:00",
        machine={"commit": "abc1234"},
        config={"mode": "full"},
        figures=[
            Figure("rebuild_vs_decode_loop", 9.0, "events/s", store=store, scale=10_000),
            Figure("rebuild_vs_decode_loop", 8.0, "events/s", store=store, scale=60),
        ],
    )
    report: Report = run_suite(
        True,
        [60],
        [store],
        1,
        tmp_path,
        lines.append,
        months=3,
        postgres_url=url,
        profile=store == "sqlite",
        previous=earlier,
    )

    assert report.errors == []
    if store == "sqlite":  # each path profiled once, functions by own time
        assert {
            "sqlite: single commands (ours)",
            "sqlite: bulk ingest (seed_population)",
            "sqlite: projection rebuild",
        } <= set(report.profiles)
        assert all(top and top[0]["calls"] > 0 for top in report.profiles.values())
    figures = {f.name: f for f in report.figures if f.store == store}
    for name in RATIOS:
        figure = figures[name]
        assert figure.value and figure.value > 0, name
        assert figure.baseline and figure.baseline > 0, name
        assert figure.ratio == pytest.approx(figure.value / figure.baseline, rel=1e-3), name
    assert figures["status_read_p99_ms"].value is not None
    phases = {p.name: p for p in report.phases if p.store == store and p.scale == 60}
    head, matching = phases["bare_decode_loop"].events, phases["decode_loop"].events
    assert 0 < matching < head  # the bare loop reads every position, the library loop its topics
    for name in ("rebuild", "catch_up"):  # positions/s against the bare loop, events applied/s
        bare, library = figures[f"{name}_vs_decode_loop"], figures[f"{name}_vs_mapper_decode_loop"]
        assert (bare.unit, library.unit) == ("positions/s", "events/s")
        assert bare.value and library.value
        assert bare.value * matching / head == pytest.approx(library.value, rel=1e-6)
        assert "bare loop" in bare.baseline_name and "mapper" in library.baseline_name
    # the raw baseline inserted a sample, and says so; bytes are per row of the sample
    raw = phases["raw_baseline"]
    assert 0 < raw.events < head and f"one position in {-(-head // 100)}" in raw.notes
    assert "the baseline inserted a sample of the log" in figures["ingest_bulk_vs_raw_sqlite"].notes
    assert (figures["store_bytes_per_event"].baseline or 0) > 100
    for clock in ("recorded_at", "as_of"):  # either clock, beside the present-day query
        for q in (50, 99):
            clocked = figures[f"coverage_{clock}_nation_p{q}_ms"]
            assert clocked.value and clocked.baseline and clocked.runs == 30
    assert "when the log's middle position was recorded" in (
        figures["coverage_recorded_at_nation_p50_ms"].notes
    )
    # T is the middle position's recorded time: the log held at least half of itself then
    found = re.search(
        r"([\d,]+) of ([\d,]+) positions recorded by then", phases["clock_coverage_queries"].notes
    )
    assert found is not None
    by_t, of = (int(g.replace(",", "")) for g in found.groups())
    assert of == head and head // 2 <= by_t <= head
    # the bulk rate, saved as soon as it was measured, was replaced with its baseline
    assert [f.name for f in report.figures if f.scale == 60].count("ingest_bulk_vs_raw_sqlite") == 1
    assert figures["store_bytes_per_event"].value is not None
    grouped = figures["ingest_single_vs_naive"]
    assert "commands per transaction" in grouped.notes and "40 concurrent callers" in grouped.notes
    assert any("grouped" in line and "commands per commit" in line for line in lines)
    # a run in parts: the earlier run's other scale is kept, with where it came from;
    # the scale measured now replaces the earlier figure
    kept = [f for f in report.figures if f.scale == 10_000]
    assert [f.value for f in kept] == [9.0]
    assert figures["rebuild_vs_decode_loop"].value != 8.0
    text = render_markdown(report)
    assert f"- {store} 10000: `ledger bench` at commit abc1234, 2026-11-30T01:00:00+00:00" in text
    national = text.split("## A national year")[1].split("## Phases")[0]
    for rate in ("rebuild, events applied/s", "bare decode loop", "audit verify"):
        assert f"| {rate}" in national and f"| {store} | 60 |" in national, rate
    assert "### ingest_single_serial_vs_naive" in text and "### ingest_single_vs_naive" in text


def test_a_big_scale_makes_one_pass_and_still_reads_and_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_suite, "ONE_PASS_ABOVE", 50)  # 60 participants count as big here
    report = run_suite(True, [60], ["sqlite"], 3, tmp_path, lambda _: None, months=3, profile=False)

    assert report.errors == []
    names = {f.name: f for f in report.figures}
    assert "catch_up_vs_decode_loop" not in names  # the one rebuild stands for it
    rebuild = names["rebuild_vs_decode_loop"]
    assert rebuild.runs == 1 and rebuild.ratio and "stands for catch-up too" in rebuild.notes
    assert names["status_read_p99_ms"].value is not None  # the reads found the read models
    assert names["coverage_query_village_p99_ms"].value is not None
    for clock in ("recorded_at", "as_of"):  # the two clocks are measured at a big scale too
        assert names[f"coverage_{clock}_nation_p50_ms"].value is not None
    assert names["rebuild_vs_decode_loop"].baseline and names["rebuild_vs_mapper_decode_loop"].ratio
    growth = render_markdown(report).split("## How it grows")[1]
    assert "(one pass) ¹" in growth
    assert [p.name for p in report.phases if p.name in ("rebuild", "status_reads")] == [
        "rebuild",
        "status_reads",
    ]


def test_a_split_rebuild_is_measured_beside_the_same_rebuild_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rebuild_phase, "SPLIT_FROM", 0)  # split even this tiny log
    monkeypatch.setenv("LEDGER_REBUILD_WORKERS", "2")  # whatever the cores
    report = run_suite(True, [40], ["sqlite"], 2, tmp_path, lambda _: None, months=3, profile=False)
    assert report.errors == []
    figures = {f.name: f for f in report.figures}
    split, single = figures["rebuild_vs_decode_loop"], figures["rebuild_one_process_vs_decode_loop"]
    assert split.runs == single.runs == 2 and split.baseline == single.baseline
    assert (
        "split across" in split.notes and "split across" in figures["catch_up_vs_decode_loop"].notes
    )
    rebuild = next(p for p in report.phases if p.name == "rebuild")
    assert (
        "each run followed by one unsplit" in rebuild.notes
        and "largest worker peaked" in rebuild.notes
    )
    growth = render_markdown(report).split("## How it grows")[1]
    assert f"{bench_markdown._num(single.value)} / {bench_markdown._num(split.value)}" in growth


def test_a_kept_store_is_ingested_once_and_measured_again_without_ingesting(
    tmp_path: Path,
) -> None:
    keep = tmp_path / "kept"
    first = run_suite(
        True,
        [30],
        ["sqlite"],
        1,
        tmp_path / "a",
        lambda _: None,
        months=3,
        profile=False,
        keep_dir=keep,
        ingest_only=True,
    )
    assert first.errors == []
    assert "rebuild" not in {p.name for p in first.phases}  # stopped after the ingest
    (folder,) = keep.iterdir()
    assert (folder / "ingested.json").exists() and (folder / "ledger.db").exists()
    assert oct((folder / "settings.json").stat().st_mode & 0o777) == "0o600"
    ingested = next(p for p in first.phases if p.name == "bulk_ingest")

    said: list[str] = []
    second = run_suite(
        True,
        [30],
        ["sqlite"],
        1,
        tmp_path / "b",
        said.append,
        months=3,
        profile=False,
        keep_dir=keep,
    )
    assert second.errors == []
    names = [p.name for p in second.phases]
    assert names.count("plan") == 1 and "rebuild" in names  # carried over, not run again
    carried = next(p for p in second.phases if p.name == "bulk_ingest")
    assert carried.events == ingested.events and "measured by an earlier run" in carried.notes
    assert any(f.name == "ingest_single_vs_naive" for f in second.figures)
    figures = {f.name: f for f in second.figures}
    assert figures["rebuild_vs_decode_loop"].ratio and figures["status_read_p99_ms"].value
    assert any("reusing the store" in line for line in said)

    # A second measuring run starts from the ingested state again: what the first one
    # derived (read models, audit tiles) is dropped, so catch-up has the whole log to do.
    said.clear()
    third = run_suite(
        True,
        [30],
        ["sqlite"],
        1,
        tmp_path / "c",
        said.append,
        months=3,
        profile=False,
        keep_dir=keep,
    )
    assert third.errors == []
    assert any("ledger-views.db" in line for line in said if line.lstrip().startswith("dropped"))
    catch_up = {f.name: f for f in third.figures}["catch_up_vs_decode_loop"]
    first_catch_up = figures["catch_up_vs_decode_loop"]
    assert catch_up.value and first_catch_up.value
    assert catch_up.value < 20 * first_catch_up.value  # not an empty catch-up
    # the single commands are new people each time, not the ones the last run added
    loaded = {f.name: f for f in third.figures}["ingest_single_loaded"]
    assert loaded.value and loaded.value > 0
