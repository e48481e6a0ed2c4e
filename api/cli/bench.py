"""`ledger bench`: the benchmarks, each against a same-run baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.cli.render import JsonOption, emit_json, err, out
from api.services.bench import run_benchmarks, run_http_benchmark
from domain.errors import InvalidInputError

app = typer.Typer()


@app.command("bench")
def bench_command(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small scale, few repeats: a minute or two.")
    ] = False,
    json: JsonOption = False,
    scales: Annotated[
        str | None,
        typer.Option(
            help="Participants per scale, comma-separated "
            "(default 10000,100000,1000000; quick 1000)."
        ),
    ] = None,
    months: Annotated[
        int | None, typer.Option(min=1, max=120, help="Months of history (24; quick 12).")
    ] = None,
    stores: Annotated[
        str, typer.Option(help="sqlite, postgres or both, comma-separated.")
    ] = "sqlite,postgres",
    repeats: Annotated[
        int | None, typer.Option(min=1, help="Repeats of the cheap figures (3).")
    ] = None,
    out_file: Annotated[
        Path, typer.Option("--out", help="The Markdown report (rewritten).")
    ] = Path("BENCHMARKS.md"),
    workdir: Annotated[Path | None, typer.Option(help="Where the temporary stores go.")] = None,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            envvar="LEDGER_BENCH_POSTGRES_URL",
            help="A PostgreSQL database to create bench_* schemas in.",
        ),
    ] = None,
    merge: Annotated[
        bool, typer.Option(help="Keep the earlier JSON's figures for scales not measured now.")
    ] = False,
    profile: Annotated[
        bool | None,
        typer.Option(
            "--profile/--no-profile", help="cProfile each path once (default: on with --quick)."
        ),
    ] = None,
    http: Annotated[
        bool,
        typer.Option(
            "--http",
            help="Only the HTTP API under load (ledger serve beside a bare FastAPI "
            "endpoint); its figures replace the earlier HTTP ones.",
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="HTTP clients at once.")] = 8,
    keep_stores: Annotated[
        Path | None,
        typer.Option(
            help="Ingest each population into a store kept in this folder, or reuse the one an "
            "earlier run left complete there (its ingest figure is carried over)."
        ),
    ] = None,
    ingest_only: Annotated[
        bool, typer.Option("--ingest-only", help="Stop after the ingest (with --keep-stores).")
    ] = False,
) -> None:
    """Benchmarks with same-run baselines; writes BENCHMARKS.md (and .json beside it)."""
    try:
        scale_list = [int(s.replace("_", "")) for s in scales.split(",")] if scales else None
    except ValueError:
        raise InvalidInputError(
            "invalid_scales", "Scales are whole numbers: --scales 10000,100000"
        ) from None
    store_list = [s.strip().lower() for s in stores.split(",") if s.strip()]
    if http:
        report = run_http_benchmark(
            quick=quick,
            scale=scale_list[0] if scale_list else None,
            months=months,
            repeats=repeats or 3,
            concurrency=concurrency,
            out_file=out_file,
            workdir=workdir,
            say=lambda line: err.print(line, highlight=False, markup=False),
        )
        if json:
            emit_json(report.as_dict())
            return
        print_figures([f for f in report.figures if f.name.startswith("http_")])
        out.print(f"Written {out_file} and {out_file.with_suffix('.json')}.")
        return

    def partial(path: Path) -> None:
        err.print(f"  partial results written to {path}", highlight=False)

    report = run_benchmarks(
        quick=quick,
        scales=scale_list,
        months=months,
        stores=store_list,
        repeats=repeats or 3,
        out_file=out_file,
        workdir=workdir,
        postgres_url=postgres_url,
        merge=merge,
        profile=profile,
        say=lambda line: err.print(line, highlight=False, markup=False),
        partial=partial,
        keep_stores=keep_stores,
        ingest_only=ingest_only,
    )
    if json:
        emit_json(report.as_dict())
        return
    print_figures([f for f in report.figures if not f.name.startswith("memory_")])
    for message in report.errors:
        err.print(f"[yellow]bench error[/yellow]: {escape(message)}", highlight=False)
    out.print(f"Written {out_file} and {out_file.with_suffix('.json')}.")


def print_figures(figures: list[Any]) -> None:
    table = Table("figure", "store", "participants", "value", "baseline", "ratio", "target", "met?")
    for f in figures:
        table.add_row(
            f.name,
            f.store,
            f"{f.scale:,}",
            "-" if f.value is None else f"{f.value:,.3g} {f.unit}",
            "-" if f.baseline is None else f"{f.baseline:,.3g}",
            "-" if f.ratio is None else f"{f.ratio:.2f}x",
            f.target or "",
            "" if f.target_met is None else ("yes" if f.target_met else "no"),
        )
    (out if out.is_terminal else Console(width=160)).print(table)
