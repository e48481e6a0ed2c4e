"""The benchmark harness's pure parts: the maths, the JSON shape, the BENCHMARKS.md writer.

No store is touched: the suite itself is run by `make bench`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.bench import (
    Figure,
    Phase,
    Report,
    check_target,
    keep_earlier,
    latency_figures,
    make_figure,
    median,
    percentile,
    ratio,
    render_markdown,
    single_command_rows,
    spread,
    write_json,
    write_markdown,
)


def test_median_of_odd_and_even_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([]) is None


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="percentage"):
        percentile(values, 101)


def test_spread_gives_min_max_and_iqr() -> None:
    assert spread([1.0, 2.0, 3.0, 4.0, 5.0]) == {"min": 1.0, "max": 5.0, "iqr": 2.0}
    assert spread([]) is None


def test_ratio_is_ours_over_baseline_and_none_without_one() -> None:
    assert ratio(10.0, 4.0) == 2.5
    assert ratio(10.0, None) is None
    assert ratio(None, 4.0) is None
    assert ratio(10.0, 0.0) is None


def test_make_figure_takes_medians_and_checks_the_target() -> None:
    figure = make_figure(
        "ingest_single_vs_naive",
        [100.0, 300.0, 200.0],
        "events/s",
        baseline_values=[40.0, 50.0, 60.0],
        baseline_name="naive",
    )
    assert figure.value == 200.0 and figure.baseline == 50.0
    assert figure.ratio == 4.0
    assert figure.runs == 3 and figure.baseline_runs == 3
    assert figure.target == "ratio >= 5" and figure.target_met is False
    assert figure.spread == {"min": 100.0, "max": 300.0, "iqr": 100.0}
    met = make_figure("rebuild_vs_decode_loop", [60.0], "events/s", baseline_values=[100.0])
    assert met.target_met is True


def test_latency_target_is_on_the_value_and_lower_is_better() -> None:
    samples = [1.0] * 98 + [4.0, 9.0]
    p50, p99 = latency_figures("status_read", samples, [0.5] * 100, "bare read")
    assert (p50.name, p99.name) == ("status_read_p50_ms", "status_read_p99_ms")
    assert p50.value == 1.0 and p50.target is None
    assert p99.value == pytest.approx(4.05)
    assert p99.target_met is True and p99.higher_is_better is False
    assert p99.ratio == pytest.approx(8.1)
    slow = check_target(Figure(name="status_read_p99_ms", value=6.0, unit="ms"))
    assert slow.target_met is False
    no_baseline = latency_figures("coverage_query_nation", [1.0, 2.0], [], "")
    assert no_baseline[0].baseline is None and no_baseline[0].ratio is None


def _report() -> Report:
    figures = [
        make_figure(
            "ingest_single_vs_naive",
            [1200.0, 1100.0, 1300.0],
            "events/s",
            baseline_values=[500.0, 600.0, 550.0],
            baseline_name="naive app",
            store="sqlite",
            scale=1000,
            months=12,
            notes="fresh | store",
        ),
        make_figure(
            "ingest_bulk_vs_raw_sqlite",
            [4000.0],
            "events/s",
            baseline_values=[80000.0],
            store="sqlite",
            scale=1000,
            months=12,
        ),
        make_figure(
            "rebuild_vs_decode_loop",
            [20000.0],
            "events/s",
            baseline_values=[30000.0],
            store="sqlite",
            scale=1000,
            months=12,
        ),
        *latency_figures(
            "status_read",
            [1.0, 2.0, 3.0],
            [0.2, 0.3, 0.4],
            "bare read",
            store="sqlite",
            scale=1000,
            months=12,
        ),
        Figure(name="memory_rebuild_peak_mb", value=90.0, unit="MB", store="sqlite", scale=1000),
    ]
    return Report(
        figures=figures,
        phases=[
            Phase(
                store="sqlite",
                scale=1000,
                name="bulk_ingest",
                seconds=9.0,
                events=13_000,
                peak_rss_mb=95.0,
                rss_growth_mb=10.0,
                repeats=3,
            )
        ],
        machine={"cpu": "Test CPU", "cores": 2, "python": "3.11"},
        config={
            "mode": "quick",
            "scales": [1000],
            "months": 12,
            "stores": ["sqlite"],
            "repeats": 3,
            "seed": 1,
        },
        profiles={
            "sqlite: rebuild": [
                {
                    "function": "x.py:1(f)",
                    "calls": 3,
                    "own_s": 0.5,
                    "own_share": 0.5,
                    "cumulative_s": 0.9,
                }
            ]
        },
        errors=["postgres skipped: unreachable"],
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
    )


def test_json_has_the_documented_shape_and_round_trips(tmp_path: Path) -> None:
    report = _report()
    path = tmp_path / "bench.json"
    write_json(report, path)
    data = json.loads(path.read_text())
    assert set(data) >= {"figures", "machine"}
    names = {f["name"] for f in data["figures"]}
    assert {
        "ingest_single_vs_naive",
        "ingest_bulk_vs_raw_sqlite",
        "rebuild_vs_decode_loop",
        "status_read_p99_ms",
    } <= names
    for figure in data["figures"]:
        assert {"name", "value", "unit", "baseline", "ratio"} <= set(figure)
    assert Report.from_dict(data).as_dict() == report.as_dict()


def test_markdown_has_a_table_per_figure_targets_growth_and_machine(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_markdown(_report(), path)
    text = path.read_text()
    assert text.startswith("# Benchmarks")
    for heading in (
        "## Machine",
        "## Targets",
        "### Missed, and why",
        "## How it grows",
        "## Phases: time and memory",
        "## Profiles",
        "## Errors",
        "### ingest_single_vs_naive",
        "### status_read_p99_ms",
    ):
        assert heading in text, heading
    assert "| cpu | Test CPU |" in text
    assert (
        "| ingest_single_vs_naive | sqlite | 1,000 | 1,200 events/s | 550 | 2.18× "
        "| ratio >= 5 | **no** |" in text
    )
    assert "**rebuild_vs_decode_loop**" not in text  # met (0.67 >= 0.5): not listed as missed
    assert "no (target is at 1M)" not in text  # status p99 3 ms: met
    assert "fresh / store" in text  # a '|' in notes cannot break the table
    assert "memory_rebuild_peak_mb" not in text.split("## How it grows")[0].split("## Figures")[1]


def test_markdown_of_an_empty_partial_report_renders() -> None:
    text = render_markdown(Report(started="now", config={"mode": "full", "scales": [10_000]}))
    assert "still running: partial results" in text


def test_single_command_rows_keep_only_people_with_payments_only() -> None:
    from datetime import date

    from tools.seed import PAY, plan_population

    plan = plan_population(participants=200, months=12, seed=3, end=date(2026, 6, 30))
    rows = single_command_rows(plan, 100)
    busy = {a.person for a in plan.actions if a.kind != PAY}
    niks = {p.nik: p.index for p in plan.people}
    assert rows and sum(1 + len(p) for _, p in rows) >= 100
    for enrollment, payments in rows:
        assert niks[enrollment["nik"]] not in busy
        assert [p["paid_on"] for p in payments] == sorted(p["paid_on"] for p in payments)
        assert all(
            set(p) == {"payment_ref", "amount", "paid_on", "channel", "agent_id"} for p in payments
        )


def _rows(text: str, after: str) -> dict[str, list[str]]:
    """The first table after `after` in `text`: first cell -> cells."""
    rows: dict[str, list[str]] = {}
    for line in text.split(after, 1)[1].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows.setdefault(cells[0], cells)
    return rows


REBUILD_TABLE = "Rebuild against the bare decode loop"


def test_growth_reads_an_earlier_reports_rebuild_in_events_applied_per_second() -> None:
    report = _report()  # rebuild_vs_decode_loop in events/s against the mapper loop
    # the log holds 13,000 events; the projections' topics match 6,000 of them
    report.phases += [
        Phase(store="sqlite", scale=1000, name="rebuild", seconds=1.0, events=13_000, repeats=3),
        Phase(store="sqlite", scale=1000, name="decode_loop", seconds=1.0, events=6_000, repeats=3),
    ]
    row = _rows(render_markdown(report), REBUILD_TABLE)["1,000"]
    # positions, applied, bare, catch-up, rebuild, ÷ bare, applied/s, library/s, seconds
    assert row[1:] == [
        "13,000",
        "6,000",
        "–",  # no bare loop then: a run now fills it
        "–",
        "43,333 / not split",  # the same seconds over every position
        "–",
        "20,000",
        "30,000",
        "0.300",  # 6,000 events at 20,000 events/s, not 13,000
    ]


def test_growth_shows_the_rebuild_against_the_bare_loop_in_positions_and_events_applied() -> None:
    common: dict[str, Any] = {"store": "sqlite", "months": 24}
    report = Report(
        started="now",
        config={"mode": "full", "scales": [10_000, 1_000_000]},
        figures=[
            make_figure(
                "rebuild_vs_decode_loop",
                [50_000.0],
                "positions/s",
                baseline_values=[100_000.0],
                scale=10_000,
                **common,
            ),
            make_figure(
                "rebuild_vs_mapper_decode_loop",
                [25_000.0],
                "events/s",
                baseline_values=[40_000.0],
                scale=10_000,
                **common,
            ),
            make_figure(
                "catch_up_vs_decode_loop",
                [45_000.0],
                "positions/s",
                baseline_values=[100_000.0],
                scale=10_000,
                **common,
            ),
            make_figure(
                "rebuild_vs_decode_loop",
                [42_000.0],
                "positions/s",
                baseline_values=[90_000.0],
                scale=1_000_000,
                notes="at this scale one rebuild (before the loops) stands for catch-up too",
                **common,
            ),
        ],
        phases=[
            Phase(store="sqlite", scale=10_000, name="bare_decode_loop", seconds=1, events=240_000),
            Phase(store="sqlite", scale=10_000, name="decode_loop", seconds=1, events=120_000),
        ],
    )
    text = render_markdown(report)
    rows = _rows(text, REBUILD_TABLE)
    assert rows["10,000"][1:] == [
        "240,000",
        "120,000",
        "100,000",
        "45,000",
        "50,000 / not split",
        "0.50×",
        "25,000",
        "40,000",
        "4.80",
    ]
    assert rows["1,000,000"][4] == "(one pass) ¹" and "¹ Above 200,000 participants" in text
    assert "Rebuild positions/s at 1,000,000 ÷ at 10,000 participants: **0.84**" in text


def test_growth_sets_coverage_on_either_clock_beside_the_present_day_query() -> None:
    report = _report()
    for clock, ours in (("recorded_at", [2.0, 4.0]), ("as_of", [3.0, 5.0])):
        report.figures += latency_figures(
            f"coverage_{clock}_nation", ours, [1.0, 2.0], "present", store="sqlite", scale=1000
        )
    report.phases.append(
        Phase(
            store="sqlite",
            scale=1000,
            name="clock_coverage_queries",
            seconds=1.0,
            notes="T = 2026-12-02T08:00:00+00:00 (position 7 of 14); D = 2026-06-15",
        )
    )
    rows = _rows(render_markdown(report), "Coverage of the whole nation on either clock")
    assert rows["1,000"][1:] == [
        "1.50 / 1.99",
        "3.00 / 3.98",
        "2.00×",
        "4.00 / 4.98",
        "2.67×",
        "T = 2026-12-02T08:00:00+00:00 (position 7 of 14); D = 2026-06-15",
    ]


def test_a_national_year_in_hours_at_each_measured_rate_and_across_a_kafka_group() -> None:
    report = _report()
    report.figures.append(
        make_figure(
            "audit_verify_vs_read_sha256",
            [28_000.0],
            "events/s",
            baseline_values=[40_000.0],
            store="sqlite",
            scale=1000,
        )
    )
    report.machine["commit"] = "abc1234"
    kafka = {"group_1_per_s": 3_500.0, "partitions": 12, "participants": 2_000, "events": 13_110}
    text = render_markdown(report, kafka).split("## A national year")[1].split("## Phases")[0]
    rows = _rows(text, "| rate |")
    audit = rows["audit verify, log positions/s (`ledger audit verify`)"]
    assert audit[1:] == ["sqlite", "1,000", "commit abc1234, 2026-01-01", "28,000", "8.33"]
    applied = rows["rebuild, events applied/s (`ledger projections rebuild`)"]
    assert applied[4:] == ["20,000", "12"]  # 840e6 / 20,000 / 3600 = 11.7
    assert rows["Kafka reporting group, one member, events/s"][4:] == ["3,500", "67"]
    assert "840,000,000 ÷ (12 × 3,500/s) = **5.56 h**" in text
    without = render_markdown(report).split("## A national year")[1]
    assert "No Kafka benchmark beside this report" in without


def test_an_earlier_run_without_a_finish_says_so() -> None:
    report = _report()
    report.config["kept_from_previous"] = ["sqlite 10000"]
    report.config["earlier_runs"] = [
        {
            "mode": "full",
            "started": "2026-01-01T00:00:00+00:00",
            "finished": None,
            "commit": "abc1234",
            "measured": ["sqlite 10000"],
        }
    ]
    text = render_markdown(report)
    assert "at commit abc1234, 2026-01-01T00:00:00+00:00 to (finish not recorded)." in text
    assert "None" not in text


def test_figures_merged_from_runs_render_by_store_and_scale() -> None:
    report = _report()
    report.figures.insert(
        0,
        make_figure(
            "ingest_bulk_vs_raw_sqlite",
            [7000.0],
            "events/s",
            baseline_values=[90000.0],
            store="sqlite",
            scale=10_000,
            months=24,
        ),
    )
    table = render_markdown(report).split("### ingest_bulk_vs_raw_sqlite")[1].split("###")[0]
    scales = [
        line.split("|")[2].strip() for line in table.splitlines() if line.startswith("| sqlite")
    ]
    assert scales == ["1,000", "10,000"]
    growth = render_markdown(report).split("## How it grows")[1].split("## Phases")[0]
    assert "| 10,000 | 24 |" in growth and "| 1,000 | 12 |" in growth


def test_runs_in_parts_keep_each_source_and_show_the_split_rebuild_beside_one_process() -> None:
    def run(scale: int, commit: str, *names: str) -> Report:
        figures = [
            make_figure(
                n,
                [20_000.0 if "one_process" in n else 30_000.0],
                "positions/s",
                baseline_values=[40_000.0],
                store="sqlite",
                scale=scale,
                months=24,
            )
            for n in names
        ]
        return Report(
            started=f"start {commit}",
            finished=f"end {commit}",
            figures=figures,
            machine={"commit": commit},
            config={"mode": "full", "scales": [scale]},
        )

    hundred_k = run(100_000, "aaa", "rebuild_vs_decode_loop")
    million = run(1_000_000, "bbb", "rebuild_vs_decode_loop")
    keep_earlier(million, hundred_k, {("sqlite", 1_000_000)})
    ten_k = run(10_000, "ccc", "rebuild_vs_decode_loop", "rebuild_one_process_vs_decode_loop")
    keep_earlier(ten_k, million, {("sqlite", 10_000)})

    assert sorted({(f.scale, f.name) for f in ten_k.figures}) == [
        (10_000, "rebuild_one_process_vs_decode_loop"),
        (10_000, "rebuild_vs_decode_loop"),
        (100_000, "rebuild_vs_decode_loop"),
        (1_000_000, "rebuild_vs_decode_loop"),
    ]
    assert ten_k.config["kept_from_previous"] == ["sqlite 100000", "sqlite 1000000"]
    assert [(r["commit"], r["measured"]) for r in ten_k.config["earlier_runs"]] == [
        ("aaa", ["sqlite 100000"]),
        ("bbb", ["sqlite 1000000"]),
    ]
    text = render_markdown(ten_k)
    assert "- sqlite 100000: `ledger bench` at commit aaa, start aaa to end aaa." in text
    rows = _rows(text, REBUILD_TABLE)
    assert rows["10,000"][5] == "20,000 / 30,000"  # one process / split
    assert rows["100,000"][5] == "30,000 / not split"  # the one figure is one process


def test_a_run_stopped_after_bulk_ingest_still_shows_its_rate_in_the_growth_table() -> None:
    report = Report(
        started="now",
        config={"mode": "full", "scales": [1_000_000]},
        phases=[
            Phase(
                store="sqlite",
                scale=1_000_000,
                name="bulk_ingest",
                seconds=5_000.0,
                events=25_000_000,
                repeats=1,
            )
        ],
    )
    growth = render_markdown(report).split("## How it grows")[1].split("## Phases")[0]
    row = next(line for line in growth.splitlines() if line.startswith("| 1,000,000 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == ["25,000,000", "5,000", "5,000"]  # events, events/s, seconds


def test_a_suite_run_keeps_the_http_figures_only_ledger_bench_http_measures() -> None:
    earlier = _report()
    earlier.figures.append(
        Figure("http_status_read_rate", 900.0, "req/s", store="sqlite", scale=1000)
    )
    earlier.config["http"] = {"concurrency": 8}
    now = Report(config={"mode": "quick"})
    keep_earlier(now, earlier, {("sqlite", 1000)})
    assert [f.name for f in now.figures] == ["http_status_read_rate"]
    assert now.config["http"] == {"concurrency": 8}
