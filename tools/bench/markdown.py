"""BENCHMARKS.md: a report rendered for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench.cells import num, times
from tools.bench.config import WHY
from tools.bench.growth import growth_section
from tools.bench.national import load_kafka, national_section
from tools.bench.report import Figure, Report

_num = num  # the names the tests and older callers use
_ratio = times


def _met(figure: Figure) -> str:
    if figure.target_met is None:
        return "–"
    if figure.name == "status_read_p99_ms" and figure.scale < 1_000_000:
        return ("yes" if figure.target_met else "no") + " (target is at 1M)"
    return "**yes**" if figure.target_met else "**no**"


def _spread_text(figure: Figure) -> str:
    s = figure.spread
    if not s:
        return "–"
    if "p90" in s:
        return f"min {_num(s['min'], 'ms')}, p90 {_num(s['p90'], 'ms')}, max {_num(s['max'], 'ms')}"
    return f"{_num(s['min'])}–{_num(s['max'])} (IQR {_num(s['iqr'])})"


MAIN = (
    "ingest_single_vs_naive",
    "ingest_single_serial_vs_naive",
    "ingest_bulk_vs_raw_sqlite",
    "catch_up_vs_decode_loop",
    "catch_up_vs_mapper_decode_loop",
    "rebuild_vs_decode_loop",
    "rebuild_vs_mapper_decode_loop",
    "rebuild_one_process_vs_decode_loop",
    "status_read_p50_ms",
    "status_read_p99_ms",
    "status_row_read_p50_ms",
    "status_row_read_p99_ms",
    "coverage_query_nation_p50_ms",
    "coverage_query_nation_p99_ms",
    "coverage_query_province_p50_ms",
    "coverage_query_province_p99_ms",
    "coverage_query_village_p50_ms",
    "coverage_query_village_p99_ms",
    "coverage_recorded_at_nation_p50_ms",
    "coverage_recorded_at_nation_p99_ms",
    "coverage_as_of_nation_p50_ms",
    "coverage_as_of_nation_p99_ms",
    "ingest_single_loaded",
    "store_bytes_per_event",
)


def write_markdown(report: Report, path: Path) -> None:
    """BENCHMARKS.md at `path`, with the Kafka benchmark's rates when its JSON is beside."""
    path.write_text(render_markdown(report, load_kafka(path.parent)))


def render_markdown(report: Report, kafka: dict[str, Any] | None = None) -> str:
    lines: list[str] = []
    add = lines.append
    cfg = report.config
    add("# Benchmarks")
    add("")
    finished = (
        f"finished {report.finished}" if report.finished else "still running: partial results"
    )
    add(
        f"Written by `ledger bench{' --quick' if cfg.get('mode') == 'quick' else ''}` "
        f"(started {report.started}, {finished}). "
        "Every figure is the median of the runs shown, beside a baseline measured in the same run "
        "on the same data; ratio = ours / baseline (for latencies and sizes lower is better). "
        "Benchmarks never fail the build on a number; the targets below are for the report only."
    )
    add("")
    add(
        f"Mode **{cfg.get('mode')}**: scales {', '.join(f'{s:,}' for s in cfg.get('scales', []))} "
        f"participants × {cfg.get('months')} months of synthetic history "
        f"(seed {cfg.get('seed')}), "
        f"stores {', '.join(cfg.get('stores', []))}, up to {cfg.get('repeats')} repeats "
        "(bulk ingest once above 20k participants, everything once above 200k)."
    )
    if cfg.get("kept_from_previous"):
        add(f"Kept from earlier runs: {', '.join(cfg['kept_from_previous'])}.")
        for run in cfg.get("earlier_runs") or []:
            add(
                f"- {', '.join(run.get('measured') or [])}: `ledger bench"
                f"{' --quick' if run.get('mode') == 'quick' else ''}` at commit "
                f"{run.get('commit')}, "
                f"{run.get('started')} to {run.get('finished') or '(finish not recorded)'}."
            )
    add("")
    add("## Machine")
    add("")
    add("| fact | value |")
    add("| --- | --- |")
    for key in (
        "cpu",
        "cores",
        "cores_usable",
        "ram_gb",
        "python",
        "sqlite",
        "postgresql",
        "eventsourcing",
        "orjson",
        "platform",
        "commit",
        "memory_method",
    ):
        if key in report.machine:
            add(f"| {key} | {report.machine[key]} |")
    add("")
    add("## Targets")
    add("")
    # by store and scale, whichever run (or merged earlier run) measured them
    figures = sorted(report.figures, key=lambda f: (f.store, f.scale))
    add("| figure | store | participants | value | baseline | ratio | target | met? |")
    add("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for figure in figures:
        if figure.target:
            add(
                f"| {figure.name} | {figure.store} | {figure.scale:,} | "
                f"{_num(figure.value, figure.unit)} "
                f"{figure.unit} | {_num(figure.baseline, figure.unit)} | {_ratio(figure.ratio)} | "
                f"{figure.target} | {_met(figure)} |"
            )
    missed = sorted({f.name for f in report.figures if f.target_met is False})
    if missed:
        add("")
        add("### Missed, and why")
        add("")
        for name in missed:
            add(f"- **{name}**: {WHY.get(name, '')} See the profiles below.")
    add("")
    add("## Figures")
    names = [n for n in MAIN if any(f.name == n for f in report.figures)]
    names += sorted(
        {f.name for f in report.figures if f.name not in MAIN and not f.name.startswith("memory_")}
    )
    for name in names:
        group = [f for f in figures if f.name == name]
        add("")
        add(f"### {name}")
        add("")
        first = group[0]
        if first.baseline_name:
            add(f"Baseline: {first.baseline_name}.")
            add("")
        add(
            "| store | participants | value | spread | runs | baseline | baseline spread | ratio "
            "| target | met? | notes |"
        )
        add("| --- | ---: | ---: | --- | ---: | ---: | --- | ---: | --- | --- | --- |")
        for f in group:
            bs = f.baseline_spread
            base_spread = f"{_num(bs['min'])}–{_num(bs['max'])}" if bs and "min" in bs else "–"
            add(
                f"| {f.store} | {f.scale:,} | {_num(f.value, f.unit)} {f.unit} | "
                f"{_spread_text(f)} | "
                f"{f.runs} | {_num(f.baseline, f.unit)} | {base_spread} | {_ratio(f.ratio)} | "
                f"{f.target or '–'} | {_met(f)} | {f.notes.replace('|', '/')} |"
            )
    add("")
    lines += growth_section(report)
    lines += national_section(report, kafka)
    add("## Phases: time and memory")
    add("")
    add(f"Memory: {report.machine.get('memory_method', '')}.")
    add("")
    add(
        "| store | participants | phase | seconds (all repeats) | repeats | events | peak RSS MB "
        "| growth MB | notes |"
    )
    add("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for p in report.phases:
        add(
            f"| {p.store} | {p.scale:,} | {p.name} | {p.seconds:,.1f} | {p.repeats} | "
            f"{p.events:,} | "
            f"{_num(p.peak_rss_mb)} | {_num(p.rss_growth_mb)} | {p.notes.replace('|', '/')} |"
        )
    if report.profiles:
        add("")
        add("## Profiles")
        add("")
        add(
            "cProfile of one extra, untimed run of each path (smaller than the timed runs); the "
            "functions with the most own time."
        )
        for title, rows in report.profiles.items():
            add("")
            add(f"### {title}")
            add("")
            add("| function | calls | own s | own share | cumulative s |")
            add("| --- | ---: | ---: | ---: | ---: |")
            for r in rows:
                add(
                    f"| `{r['function']}` | {r['calls']:,} | {r['own_s']:.3f} | "
                    f"{100 * r['own_share']:.1f}% | {r['cumulative_s']:.3f} |"
                )
    if report.errors:
        add("")
        add("## Errors")
        add("")
        for message in report.errors:
            add(f"- {message}")
    add("")
    return "\n".join(lines)
