"""The benchmark suite (`ledger bench`): runs it and writes BENCHMARKS.md and .json."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson

from tools.bench import Report, run_suite, write_json, write_markdown

DEFAULT_POSTGRES_URL = "postgresql://ledger:ledger@127.0.0.1:5432/ledger_test"

__all__ = ["Report", "run_benchmarks", "run_http_benchmark"]


def run_benchmarks(
    *,
    quick: bool,
    scales: list[int] | None,
    months: int | None,
    stores: list[str],
    repeats: int,
    out_file: Path,
    workdir: Path | None,
    postgres_url: str | None,
    merge: bool,
    profile: bool | None,
    say: Callable[[str], None],
    partial: Callable[[Path], None],
    keep_stores: Path | None = None,
    ingest_only: bool = False,
) -> Report:
    """Run the suite in temporary stores under `workdir` and write `out_file` (Markdown)
    and its `.json` beside it, also after each completed scale (`partial` hears of it).
    With `merge`, the earlier JSON's figures for scales not measured now are kept. With
    `keep_stores`, each population is ingested into a store kept there (or, when an earlier
    run left one complete, not ingested again); `ingest_only` stops after the ingest."""
    url = postgres_url or os.environ.get("LEDGER_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    json_file = out_file.with_suffix(".json")
    previous = None
    if merge and json_file.exists():
        previous = Report.from_dict(orjson.loads(json_file.read_bytes()))

    def checkpoint(report: Report) -> None:
        write_markdown(report, out_file)
        write_json(report, json_file)
        partial(out_file)

    base = workdir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-", dir=base) as folder:
        report = run_suite(
            quick,
            scales,
            stores,
            repeats,
            Path(folder),
            say,
            months=months,
            postgres_url=url,
            profile=profile,
            checkpoint=checkpoint,
            previous=previous,
            keep_dir=keep_stores,
            ingest_only=ingest_only,
        )
    write_markdown(report, out_file)
    write_json(report, json_file)
    return report


def run_http_benchmark(
    *,
    quick: bool,
    scale: int | None,
    months: int | None,
    repeats: int,
    concurrency: int,
    out_file: Path,
    workdir: Path | None,
    say: Callable[[str], None],
) -> Report:
    """Drive `ledger serve` and a bare FastAPI endpoint over loopback from this process;
    the figures replace the earlier HTTP figures in `out_file` and its `.json` (the
    other figures are kept as they are)."""
    from tools.bench.serving.figures import figures
    from tools.bench.serving.run import HttpBenchConfig, run

    config = HttpBenchConfig(
        participants=scale or (1_000 if quick else 10_000),
        months=months or (12 if quick else 24),
        concurrency=concurrency,
        seconds=3.0 if quick else 10.0,
        repeats=repeats,
    )
    base = workdir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-http-", dir=base) as folder:
        result = run(Path(folder), config, say)
    json_file = out_file.with_suffix(".json")
    report = (
        Report.from_dict(orjson.loads(json_file.read_bytes())) if json_file.exists() else Report()
    )
    report.figures = [f for f in report.figures if not f.name.startswith("http_")]
    report.figures += figures(result)
    report.config["http"] = {
        **result["config"],
        "participants_read": result["participants_read"],
        "writers": result["writers"],
    }
    write_markdown(report, out_file)
    write_json(report, json_file)
    return report
