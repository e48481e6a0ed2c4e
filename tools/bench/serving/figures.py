"""The HTTP benchmark's results as the benchmark report's figures (BENCHMARKS.md/.json)."""

from __future__ import annotations

from typing import Any

from tools.bench.report import Figure
from tools.bench.stats import spread

BARE = "a bare FastAPI endpoint returning a constant (same uvicorn, client and run)"
STORE = "sqlite"
READ_TARGET = 0.5  # status reads at half the bare endpoint's rate or better
READ_P99_MS = 10.0


def figures(result: dict[str, Any]) -> list[Figure]:
    """Rate, p50 and p99 of status reads and contribution writes, each beside the bare
    endpoint's; the status targets of issue 15 (they count at 1M participants)."""
    config, measured = result["config"], result["results"]
    bare = measured["bare"]
    scale, months = int(config["participants"]), int(config["months"])
    note = (
        f"{config['concurrency']} concurrent clients, {config['seconds']:g} s per run, "
        "one uvicorn worker, SQLite"
    )
    out: list[Figure] = [
        Figure(
            name="http_bare_rate",
            value=bare["rate"],
            unit="req/s",
            store=STORE,
            scale=scale,
            months=months,
            median=bare["rate"],
            runs=bare["repeats"],
            spread=spread(bare["rates"]),
            notes=note,
        )
    ]
    for kind, label in (
        ("status", "http_status_read"),
        ("contribution", "http_contribution_write"),
    ):
        row = measured[kind]
        errors = f"; {row['errors']} errors" if row["errors"] else ""
        statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(row.get("statuses", {}).items()))
        rate = Figure(
            name=f"{label}_rate",
            value=row["rate"],
            unit="req/s",
            baseline=bare["rate"],
            ratio=row["rate"] / bare["rate"] if bare["rate"] else None,
            store=STORE,
            scale=scale,
            months=months,
            baseline_name=BARE,
            median=row["rate"],
            runs=row["repeats"],
            spread=spread(row["rates"]),
            baseline_spread=spread(bare["rates"]),
            baseline_runs=bare["repeats"],
            notes=f"{note}; statuses {statuses}{errors}",
        )
        out.append(rate)
        for q in ("p50", "p99"):
            value, base = row[f"{q}_ms"], bare[f"{q}_ms"]
            out.append(
                Figure(
                    name=f"{label}_{q}_ms",
                    value=value,
                    unit="ms",
                    baseline=base,
                    ratio=value / base if base else None,
                    store=STORE,
                    scale=scale,
                    months=months,
                    baseline_name=BARE,
                    median=value,
                    runs=row["repeats"],
                    baseline_runs=bare["repeats"],
                    higher_is_better=False,
                    notes=note,
                )
            )
    encode = result.get("encode_us")
    if encode:
        out.append(
            Figure(
                name="http_encode_status_us",
                value=encode["orjson"],
                unit="µs",
                store=STORE,
                baseline=encode["pydantic"],
                ratio=encode["orjson"] / encode["pydantic"],
                scale=scale,
                months=months,
                higher_is_better=False,
                baseline_name="pydantic's serializer through the response model (FastAPI's "
                "fast path), on the same status answers",
                notes="in process, no server; ours is the orjson response class",
            )
        )
    for figure in out:
        if figure.name == "http_status_read_rate":
            figure.target = f">= {READ_TARGET} x bare at 1M participants"
            figure.target_met = (
                figure.ratio >= READ_TARGET
                if figure.ratio is not None and scale >= 1_000_000
                else None
            )
        if figure.name == "http_status_read_p99_ms":
            figure.target = f"< {READ_P99_MS:g} ms at 1M participants"
            figure.target_met = (
                figure.value < READ_P99_MS
                if figure.value is not None and scale >= 1_000_000
                else None
            )
    return out
