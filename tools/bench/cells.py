"""How BENCHMARKS.md writes a number, and where in a report a figure or phase is."""

from __future__ import annotations

from tools.bench.report import Figure, Phase, Report


def num(value: float | None, unit: str = "") -> str:
    """Thousands separated; three decimals below 1, two below 10 (and for ms)."""
    if value is None:
        return "–"
    if unit == "ms" or abs(value) < 10:
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.2f}"
    return f"{value:,.0f}"


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def figure(report: Report, name: str, store: str, scale: int) -> Figure | None:
    return next(
        (f for f in report.figures if f.name == name and f.scale == scale and f.store == store),
        None,
    )


def phase(report: Report, name: str, store: str, scale: int) -> Phase | None:
    return next(
        (p for p in report.phases if p.name == name and p.scale == scale and p.store == store),
        None,
    )


def scales_of(report: Report, store: str) -> list[int]:
    return sorted(
        {f.scale for f in report.figures if f.store == store}
        | {p.scale for p in report.phases if p.store == store}
    )


def stores_of(report: Report) -> list[str]:
    return sorted({f.store for f in report.figures} | {p.store for p in report.phases})


def measured_by(report: Report, store: str, scale: int) -> str:
    """Which run measured (store, scale): this one, or an earlier one merged in."""
    key = f"{store} {scale}"
    if key in (report.config.get("kept_from_previous") or []):
        for run in report.config.get("earlier_runs") or []:
            if key in (run.get("measured") or []):
                return f"commit {run.get('commit')}, {str(run.get('started'))[:10]}"
    return f"commit {report.machine.get('commit', '?')}, {report.started[:10]}"
