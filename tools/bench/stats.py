"""The pure maths: medians, percentiles, spreads, ratios and figures built from them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tools.bench.config import TARGETS
from tools.bench.report import Figure


def median(values: Sequence[float]) -> float | None:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); q in 0..100."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q is a percentage, 0..100")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """Min, max and the interquartile range of repeated measurements."""
    if not values:
        return None
    q1, q3 = percentile(values, 25), percentile(values, 75)
    assert q1 is not None and q3 is not None
    return {"min": min(values), "max": max(values), "iqr": q3 - q1}


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def check_target(figure: Figure) -> Figure:
    """Fill `target` and `target_met` from TARGETS (the status target counts at 1M only)."""
    spec = TARGETS.get(figure.name)
    if spec is None:
        return figure
    what, op, threshold, text = spec
    figure.target = text
    observed = figure.ratio if what == "ratio" else figure.value
    if observed is None:
        figure.target_met = None
    else:
        figure.target_met = observed >= threshold if op == ">=" else observed < threshold
    return figure


def make_figure(
    name: str,
    values: Sequence[float],
    unit: str,
    *,
    baseline_values: Sequence[float] = (),
    baseline_name: str = "",
    higher_is_better: bool = True,
    **extra: Any,
) -> Figure:
    """A figure from repeated runs: the value is the median, the ratio median/median."""
    value = median(values)
    base = median(baseline_values) if baseline_values else None
    figure = Figure(
        name=name,
        value=value,
        unit=unit,
        baseline=base,
        ratio=ratio(value, base),
        baseline_name=baseline_name,
        median=value,
        spread=spread(values),
        runs=len(values),
        baseline_spread=spread(baseline_values) if baseline_values else None,
        baseline_runs=len(baseline_values),
        higher_is_better=higher_is_better,
        **extra,
    )
    return check_target(figure)


def latency_figures(
    prefix: str,
    samples_ms: Sequence[float],
    baseline_ms: Sequence[float],
    baseline_name: str,
    **extra: Any,
) -> list[Figure]:
    """p50 and p99 figures of a latency distribution against a baseline distribution."""
    figures = []
    for q in (50, 99):
        value, base = percentile(samples_ms, q), percentile(baseline_ms, q) if baseline_ms else None
        figures.append(
            check_target(
                Figure(
                    name=f"{prefix}_p{q}_ms",
                    value=value,
                    unit="ms",
                    baseline=base,
                    ratio=ratio(value, base),
                    baseline_name=baseline_name,
                    median=percentile(samples_ms, 50),
                    spread=(
                        {
                            "min": min(samples_ms),
                            "p90": percentile(samples_ms, 90) or 0.0,
                            "max": max(samples_ms),
                        }
                        if samples_ms
                        else None
                    ),
                    runs=len(samples_ms),
                    baseline_runs=len(baseline_ms),
                    higher_is_better=False,
                    **extra,
                )
            )
        )
    return figures
