"""BENCHMARKS.md: a report rendered for people."""

from __future__ import annotations

from pathlib import Path

from tools.bench.config import WHY
from tools.bench.report import Figure, Phase, Report


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit == "ms" or abs(value) < 10:
        text = f"{value:,.3f}" if abs(value) < 1 else f"{value:,.2f}"
    else:
        text = f"{value:,.0f}"
    return text


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


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
    "rebuild_vs_decode_loop",
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
    path.write_text(render_markdown(report))


def render_markdown(report: Report) -> str:
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
    add("## How it grows")
    add("")
    for store in sorted({f.store for f in report.figures} | {p.store for p in report.phases}):
        add(f"### {store}")
        add("")
        add(
            "| participants | months | events | bulk ingest ev/s | single cmd (loaded) ev/s | "
            "catch-up ev/s | "
            "rebuild ev/s, one process / split | status p50 / p99 ms | coverage village p99 ms | "
            "bytes/event | "
            "bulk ingest s | rebuild s | peak RSS bulk MB |"
        )
        add(
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | "
            "---: |"
        )
        for scale in sorted(
            {f.scale for f in report.figures if f.store == store}
            | {p.scale for p in report.phases if p.store == store}
        ):

            def get(name: str, _s: int = scale, _store: str = store) -> Figure | None:
                return next(
                    (
                        f
                        for f in report.figures
                        if f.name == name and f.scale == _s and f.store == _store
                    ),
                    None,
                )

            def val(name: str, unit: str = "") -> str:
                figure = get(name)
                return _num(figure.value if figure else None, unit)

            def phase(name: str, _s: int = scale, _store: str = store) -> Phase | None:
                return next(
                    (
                        p
                        for p in report.phases
                        if p.name == name and p.scale == _s and p.store == _store
                    ),
                    None,
                )

            bulk = phase("bulk_ingest")
            # the rebuild reads the events the projections subscribe to: as many as the decode loop
            matching = phase("decode_loop")
            bulk_rate, rebuild_rate = (
                get("ingest_bulk_vs_raw_sqlite"),
                get("rebuild_vs_decode_loop"),
            )
            seed_s = (
                bulk.events / bulk_rate.value
                if bulk and bulk_rate and bulk_rate.value
                else bulk.seconds / bulk.repeats
                if bulk and bulk.events
                else None
            )
            bulk_text = (
                val("ingest_bulk_vs_raw_sqlite")
                if bulk_rate is not None
                else _num(bulk.events / seed_s)
                if bulk and seed_s
                else "–"
            )
            rebuild_s = (
                matching.events / rebuild_rate.value
                if matching and rebuild_rate and rebuild_rate.value
                else None
            )
            months = next((f.months for f in figures if f.store == store and f.scale == scale), 0)
            if get("rebuild_one_process_vs_decode_loop") is not None:  # the rebuild was split
                one_process, split = (
                    val("rebuild_one_process_vs_decode_loop"),
                    val("rebuild_vs_decode_loop"),
                )
            else:
                one_process, split = val("rebuild_vs_decode_loop"), "–"
            add(
                f"| {scale:,} | {months or '–'} | {bulk.events if bulk else 0:,} | {bulk_text} | "
                f"{val('ingest_single_loaded')} | {val('catch_up_vs_decode_loop')} | "
                f"{one_process} / {split} | {val('status_read_p50_ms', 'ms')} / "
                f"{val('status_read_p99_ms', 'ms')} | "
                f"{val('coverage_query_village_p99_ms', 'ms')} | "
                f"{val('store_bytes_per_event')} | "
                f"{_num(seed_s)} | {_num(rebuild_s)} | "
                f"{_num(bulk.peak_rss_mb if bulk else None)} |"
            )
        add("")
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
