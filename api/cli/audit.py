"""`ledger audit ...`: the verifiable log (docs/audit.md); `ledger export ...` for auditors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.render import JsonOption, bar, emit_json, err, open_system, out
from api.services import audit as service
from api.services import audit_checks as checks
from api.services.exports import KINDS, export

app = typer.Typer(
    help="The verifiable log: checkpoints, proofs, verify, recount.", no_args_is_help=True
)
export_app = typer.Typer()

RecordedAt = Annotated[
    str | None,
    typer.Option(
        "--recorded-at", help="The tree at the last position recorded by then (date or ISO time)."
    ),
]


@app.command("key")
def key_command(json: JsonOption = False) -> None:
    """Print the verifier key that checks the log's checkpoints (signed-note form)."""
    with open_system() as system:
        answer = service.verifier_key(system)
    if json:
        emit_json(answer.as_dict())
    else:
        out.print(answer.verifier_key, highlight=False, soft_wrap=True)


@app.command("checkpoint")
def checkpoint_command(json: JsonOption = False) -> None:
    """Bring the tree to the head of the log, sign a checkpoint now and print it."""
    with open_system() as system:
        answer = service.checkpoint(system, tracker=bar)
    if json:
        emit_json(answer.as_dict())
    else:
        out.print(answer.note, end="", highlight=False, markup=False, soft_wrap=True)


@app.command("seal")
def seal_command(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following the log.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks at the log.")] = 1.0,
    json: JsonOption = False,
) -> None:
    """Seal the log to its head (signing checkpoints as they fall due)."""
    with open_system() as system:
        answer = service.seal(system, follow=follow, poll=poll, tracker=bar)
    if json:
        emit_json(answer.as_dict())
    else:
        out.print(
            f"Tree of {answer.tree_size:,} leaves (log position {answer.position:,}); "
            f"{answer.sealed:,} sealed now, {len(answer.checkpoints)} checkpoint(s) signed."
        )


@app.command("prove")
def prove_command(
    position: Annotated[int, typer.Option(min=1, help="The event's log position.")],
    checkpoint: Annotated[
        int | None,
        typer.Option(
            "--checkpoint", min=1, help="Prove in the tree of this size (a checkpoint's)."
        ),
    ] = None,
    recorded_at: RecordedAt = None,
    json: JsonOption = False,
) -> None:
    """The inclusion proof of one event (RFC 9162 2.1.3)."""
    with open_system() as system:
        answer = service.prove(
            system, position=position, checkpoint_size=checkpoint, recorded_at=recorded_at
        )
    body = answer.as_dict()
    if json:
        emit_json(body)
        return
    out.print(
        f"Position {answer.position:,} is leaf {answer.leaf_index:,} of the tree of "
        f"{answer.tree_size:,} leaves"
        + (" (a signed checkpoint)." if answer.signed else " (not a checkpoint's size).")
    )
    out.print(f"leaf hash {body['leaf_hash']}\nroot      {body['root']}", highlight=False)
    for i, step in enumerate(body["path"]):
        out.print(f"path[{i}]   {step}", highlight=False)


@app.command("consistency")
def consistency_command(
    old_size: Annotated[int, typer.Argument(min=1, help="The older tree size.")],
    new_size: Annotated[int, typer.Argument(min=1, help="The newer tree size.")],
    json: JsonOption = False,
) -> None:
    """The consistency proof between two tree sizes (RFC 9162 2.1.4)."""
    with open_system() as system:
        answer = service.consistency(system, old_size=old_size, new_size=new_size)
    body = answer.as_dict()
    if json:
        emit_json(body)
        return
    out.print(f"Tree of {answer.new_size:,} leaves extends the tree of {answer.old_size:,}.")
    out.print(f"old root  {body['old_root']}\nnew root  {body['new_root']}", highlight=False)
    for i, step in enumerate(body["path"]):
        out.print(f"path[{i}]   {step}", highlight=False)


@app.command("verify")
def verify_command(
    from_position: Annotated[
        int | None,
        typer.Option(
            "--from", min=1, help="Recompute from this position (trusting the tree before it)."
        ),
    ] = None,
    until: Annotated[
        int | None,
        typer.Option(
            "--until", min=1, help="Only up to this position (the tree as it stood there)."
        ),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint", help="A checkpoint you kept (a note file, or a folder of them)."
        ),
    ] = None,
    recorded_at: RecordedAt = None,
    json: JsonOption = False,
) -> None:
    """Recompute the tree from the stored events and check every checkpoint; exit 1 and
    name the first bad position if anything was changed, deleted, inserted or reordered."""
    with open_system() as system:
        answer = checks.verify(
            system,
            from_position=from_position,
            until_position=until,
            checkpoint_files=checkpoint,
            recorded_at=recorded_at,
            tracker=bar,
        )
    if json:
        emit_json(answer.as_dict())
        for problem in answer.problems:
            err.print(escape(problem), highlight=False)
    elif answer.ok:
        out.print(
            f"[green]OK[/green]: {answer.checked:,} events give the sealed tree of "
            f"{answer.tree_size:,} leaves and all {answer.checkpoints} checkpoints."
            + (f" {answer.unsealed:,} newer events are not sealed yet." if answer.unsealed else "")
        )
    else:
        where = (
            f" First bad position: {answer.first_bad_position:,}."
            if answer.first_bad_position is not None
            else ""
        )
        out.print(f"[red]FAILED[/red] after {answer.checked:,} good events.{where}")
        for problem in answer.problems:
            out.print(f"  {escape(problem)}", highlight=False)
    if not answer.ok:
        raise typer.Exit(1)


@app.command("recount")
def recount_command(
    period: Annotated[str | None, typer.Option(help="Only this month, YYYY-MM.")] = None,
    json: JsonOption = False,
) -> None:
    """Count coverage again from the events, independently of the read models, and list
    every difference from the live read model (exit 1 if any)."""
    with open_system() as system:
        answer = checks.recount_coverage(system, period=period, tracker=bar)
    if json:
        emit_json(answer.as_dict())
    else:
        scope = f"in {answer.period}" if answer.period else "over all months"
        out.print(
            f"Recounted {answer.cells:,} cells {scope} at log position "
            f"{answer.position:,}: {answer.active:,} covered participant-months."
        )
        if answer.equal:
            out.print("[green]The live read model agrees, cell for cell.[/green]")
        for d in answer.differences:
            out.print(
                f"  {d['month']} {d['village']} {d['column']}: live {d['live']}, "
                f"recount {d['recount']}",
                highlight=False,
            )
    if not answer.equal:
        raise typer.Exit(1)


@export_app.command("export")
def export_command(
    kind: Annotated[str, typer.Argument(help=f"What to export: {', '.join(KINDS)}.")],
    out_path: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet.")] = "jsonl",
    since: Annotated[
        str | None, typer.Option(help="Events: a position or a recorded time; coverage: YYYY-MM.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Events: a position or a recorded time; coverage: YYYY-MM.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Export events, participant status or coverage for auditors (personal fields stay
    encrypted); `<out>.meta.json` says the tree size and root it was cut at."""
    with open_system() as system:
        answer = export(
            system, kind=kind, fmt=fmt.lower(), out=out_path, since=since, until=until, tracker=bar
        )
    if json:
        emit_json(answer.as_dict())
    else:
        out.print(
            f"Wrote {answer.rows:,} {answer.kind} rows to {escape(answer.out)} "
            f"(tree size {answer.cut.tree_size:,}, root {answer.as_dict()['root']}).",
            highlight=False,
        )
