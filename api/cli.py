"""The `ledger` command line.

Each command builds the ledger once through `infra.bootstrap`, does one thing and says
what it did. Refusals print `error [code]: message` on stderr and exit with status 1;
bad configuration exits 3; nothing prints a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from domain.errors import InvalidInputError, LedgerError
from domain.ledger import Ledger
from domain.values import Period
from infra.bootstrap import (
    all_projections,
    build_ledger,
    build_runner,
    build_view_store,
    close_ledger,
)
from infra.imports import ENROLLMENT_COLUMNS, count_rows, import_file
from infra.settings import ConfigurationError, Settings

app = typer.Typer(
    help="Enrollment ledger for the workers' social security scheme (BPU).",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
)
import_app = typer.Typer(help="Bulk imports from CSV files.", no_args_is_help=True)
app.add_typer(import_app, name="import")

out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RevealOption = Annotated[bool, typer.Option(
    "--reveal", help="Show NIK and name in full (they are masked by default).")]


@contextmanager
def open_ledger() -> Iterator[Ledger]:
    ledger = build_ledger(Settings())
    try:
        yield ledger
    finally:
        close_ledger(ledger)


def emit_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def mask(value: str | None, keep: int = 4) -> str:
    if not value:
        return "(erased)"
    return value[:keep] + "*" * max(len(value) - 2 * keep, 0) + value[-keep:]


def mask_name(value: str | None) -> str:
    if not value:
        return "(erased)"
    return " ".join(part[0] + "." for part in value.split())


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=False)


# --- status and history -------------------------------------------------------------------


@app.command()
def status(
    nik_or_id: Annotated[str, typer.Argument(help="A NIK or a participant id.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="A date, YYYY-MM-DD.")] = None,
    json: JsonOption = False,
    reveal: RevealOption = False,
) -> None:
    """Is this worker covered? Status, programmes and paid-through month on a date."""
    with open_ledger() as ledger:
        participant_id = ledger.resolve(nik_or_id)
        result = ledger.get_status(participant_id, as_of)
        personal = ledger.get_personal_data(participant_id)
    body = result.as_dict()
    if reveal and personal is not None:
        body["nik"], body["name"] = personal["nik"], personal["name"]
    if json:
        emit_json(body)
        return
    table = Table(show_header=False, box=None)
    name = personal["name"] if reveal and personal else mask_name(personal["name"] if personal else None)
    nik = personal["nik"] if reveal and personal else mask(personal["nik"] if personal else None)
    rows = [
        ("participant", f"{result.participant_id}"), ("NIK", nik), ("name", name),
        ("as of", result.as_of.isoformat()), ("status", f"[bold]{result.status}[/bold]"),
        ("covered", ", ".join(result.covered_programmes) or "no"),
        ("programmes", "+".join(result.programmes)),
        ("paid through", str(result.paid_through or "nothing paid")),
        ("arrears", f"{result.arrears_months} month(s), Rp {result.arrears_amount:,}"),
        ("village", result.village), ("enrolled on", result.enrolled_on.isoformat()),
        ("declared income", f"Rp {result.declared_income:,}"),
        ("JHT balance", f"Rp {result.jht_balance:,}"), ("open claims", str(result.open_claims)),
    ]
    for label, value in rows:
        table.add_row(f"[dim]{label}[/dim]", value)
    out.print(table)


@app.command()
def history(
    nik_or_id: Annotated[str, typer.Argument(help="A NIK or a participant id.")],
    json: JsonOption = False,
    reveal: RevealOption = False,
) -> None:
    """Every recorded fact about a participant, oldest first."""
    with open_ledger() as ledger:
        participant_id = ledger.resolve(nik_or_id)
        events = [describe_event(e, reveal) for e in ledger.get_history(participant_id)]
    if json:
        emit_json({"participant_id": str(participant_id), "events": events})
        return
    table = Table("#", "recorded (UTC)", "event", "facts")
    for e in events:
        facts = ", ".join(f"{k}={v}" for k, v in e["data"].items() if v not in (None, "", {}))
        table.add_row(str(e["version"]), e["recorded_at"][:19], e["type"], facts)
    out.print(table)


def describe_event(event: Any, reveal: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    personal_fields = getattr(type(event), "personal_fields", ())
    for key, value in vars(event).items():
        if key in ("originator_id", "originator_version", "timestamp", "originator_topic"):
            continue
        if key in personal_fields:
            value = _show_personal(value, reveal)
        data[key] = _plain(value)
    return {"version": event.originator_version, "type": type(event).__name__,
            "recorded_at": event.timestamp.isoformat(), "data": data}


def _show_personal(value: dict[str, Any] | None, reveal: bool) -> Any:
    if value is None:
        return "(erased)"
    if reveal:
        return value
    return {k: (mask(v) if k == "nik" else mask_name(v) if k == "name" else "***" if v else None)
            for k, v in value.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- recording facts ----------------------------------------------------------------------


@app.command()
def pay(
    nik_or_id: Annotated[str, typer.Argument(help="A NIK or a participant id.")],
    amount: Annotated[str, typer.Option(help="Rupiah, a whole number of months' dues.")],
    ref: Annotated[str, typer.Option(help="The payment reference (unique).")],
    paid_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today.")] = None,
    channel: Annotated[str, typer.Option(help="How it was paid.")] = "bank",
    agent_id: Annotated[str | None, typer.Option(help="Field agent id (perisai).")] = None,
) -> None:
    """Record one contribution; prints the months it settled."""
    with open_ledger() as ledger:
        participant_id = ledger.resolve(nik_or_id)
        result = ledger.record_contribution(
            participant_id=str(participant_id), payment_ref=ref, amount=amount, paid_on=paid_on,
            channel=channel, agent_id=agent_id)
    note = " (already recorded)" if result.replayed else ""
    out.print(f"Rp {result.amount:,} settles {result.first_month}..{result.last_month} "
              f"({result.months} month(s)){note}")


@app.command()
def erase(
    nik_or_id: Annotated[str, typer.Argument(help="A NIK or a participant id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a participant's personal data (destroys the keys; the record stays)."""
    if not yes and not typer.confirm("Erase this participant's personal data for good?"):
        raise typer.Exit(1)
    with open_ledger() as ledger:
        participant_id = ledger.resolve(nik_or_id)
        ledger.erase_personal_data(participant_id)
    out.print(f"Personal data of {participant_id} erased; its history still replays.")


@import_app.command("enrollments")
def import_enrollments(
    file: Annotated[Path, typer.Argument(help="CSV: " + ",".join(ENROLLMENT_COLUMNS))],
    json: JsonOption = False,
) -> None:
    """Import a registration sheet; rejected rows go to FILE.rejects.csv."""
    run_import("enrollments", file, json)


@import_app.command("contributions")
def import_contributions(
    file: Annotated[Path, typer.Argument(help="CSV: payment_ref,nik,amount,paid_on,channel")],
    json: JsonOption = False,
) -> None:
    """Import a bank settlement file; rejected rows go to FILE.rejects.csv."""
    run_import("contributions", file, json)


def run_import(kind: str, file: Path, json: bool) -> None:
    total = count_rows(file)
    with open_ledger() as ledger, progress_bar() as bar:
        task = bar.add_task(f"importing {kind}", total=total)
        report = import_file(ledger, kind, file, progress=lambda n: bar.advance(task, n))
    if json:
        emit_json(report.as_dict())
        return
    out.print(f"{report.rows} rows: [green]{report.accepted} accepted[/green], "
              f"{report.already_recorded} already recorded, [red]{report.rejected} rejected[/red]")
    for code, count in sorted(report.reasons.items()):
        out.print(f"  {count} × {code}")
    if report.rejects_path:
        out.print(f"Rejected rows with reasons: {report.rejects_path}")


# --- synthetic population and the demo -----------------------------------------------------


@app.command()
def seed(
    participants: Annotated[int, typer.Option(min=1, help="How many workers to enroll.")] = 10_000,
    months: Annotated[int, typer.Option(min=1, max=600, help="Months of history, to this month.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same history.")] = 1,
    json: JsonOption = False,
) -> None:
    """Generate a realistic synthetic history through the ledger's own commands."""
    with open_ledger() as ledger:
        report = run_seed(ledger, participants, months, seed)
    if json:
        emit_json(report.as_dict())
    else:
        print_seed_report(report)


def print_seed_report(report: Any) -> None:
    facts = report.as_dict()
    rate = facts["events"] / max(facts["elapsed_seconds"], 1e-9)
    out.print(f"{facts['participants']:,} participants, {facts['contributions']:,} contributions "
              f"(Rp {facts['contributions_amount']:,}), {facts['deaths']} deaths, "
              f"{facts['withdrawals']} withdrawals, {facts['claims_filed']} claims filed, "
              f"{facts['claims_paid']} paid; {facts['events']:,} events in "
              f"{facts['elapsed_seconds']:.1f} s ({rate:,.0f} events/s)")


def run_seed(ledger: Ledger, participants: int, months: int, seed: int) -> Any:
    from infra.seed import seed_population

    with progress_bar() as bar:
        task = bar.add_task("seeding", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return seed_population(ledger, participants=participants, months=months, seed=seed,
                               progress=advance)


DEMO_ROWS = [
    # Two good rows, then a NIK whose day field says male for a woman, an unknown village
    # and a payment that is not a whole number of months.
    {"nik": "3276014708950001", "name": "Dewi Lestari", "birth_date": "1995-08-07", "sex": "F",
     "phone": "081311112222", "village_code": "3276011006", "occupation": "street vendor",
     "declared_income": "1800000", "programmes": "JKK+JKM+JHT", "channel": "perisai",
     "agent_id": "AG-3276-001", "enrolled_on": "2025-01-06"},
    {"nik": "3276010703880002", "name": "Agus Salim", "birth_date": "1988-03-07", "sex": "M",
     "phone": "085722223333", "village_code": "32.76.01.1006", "occupation": "driver",
     "declared_income": "2500000", "programmes": "JKK+JKM", "channel": "village_office",
     "agent_id": "", "enrolled_on": "2025-01-06"},
    {"nik": "3276010703880003", "name": "Rina Wati", "birth_date": "1988-03-07", "sex": "F",
     "phone": "", "village_code": "32.76.01.1006", "occupation": "home worker",
     "declared_income": "1000000", "programmes": "JKK+JKM", "channel": "online",
     "agent_id": "", "enrolled_on": "2025-01-06"},
    {"nik": "3276010703880004", "name": "Joko Susilo", "birth_date": "1988-03-07", "sex": "M",
     "phone": "", "village_code": "32.76.01.9999", "occupation": "farmer",
     "declared_income": "1000000", "programmes": "JKK+JKM", "channel": "online",
     "agent_id": "", "enrolled_on": "2025-01-06"},
]


@app.command()
def demo(
    participants: Annotated[int, typer.Option(min=1, help="Size of the demo population.")] = 2_000,
) -> None:
    """Seed a demo population if the ledger is empty, then walk through the CLI."""
    import csv

    from projections.queries import busiest_participants

    settings = Settings()
    with open_views() as (ledger, store, runner):
        if ledger.recorder.max_notification_id() is None:
            out.rule("Seeding a demo population (24 months of history)")
            print_seed_report(run_seed(ledger, participants, 24, 7))
        catch_up(runner, "building the projections")
        out.rule(f"The log holds {runner.head():,} events; projections at {runner.position():,}")
        sample = busiest_participants(store)[0]
    last_month = Period.containing(date.today()) + -1
    out.rule(f"$ ledger coverage --period {last_month} --level province")
    coverage_command(str(last_month), "province", None, None, None, False, None)
    out.rule(f"$ ledger status {sample}")
    status(sample, None, False, False)
    earlier = (last_month + -6).first_day.replace(day=20).isoformat()
    out.rule(f"$ ledger status {sample} --as-of {earlier} --json")
    status(sample, earlier, True, False)
    out.rule(f"$ ledger history {sample}   (first events)")
    with open_ledger() as ledger:
        events = [describe_event(e, False) for e in ledger.get_history(UUID(sample))][:4]
    for e in events:
        out.print(f"{e['version']:>3}  {e['type']:<18} {e['data']}", highlight=False)
    folder = settings.var_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    sheet = folder / "village-sheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(DEMO_ROWS[0]))
        writer.writeheader()
        writer.writerows(DEMO_ROWS)
    out.rule(f"$ ledger import enrollments {sheet}")
    run_import("enrollments", sheet, False)
    out.rule(f"$ ledger import enrollments {sheet}   (again: nothing changes)")
    run_import("enrollments", sheet, False)
    nik = DEMO_ROWS[0]["nik"]
    for amount, ref in (("1", "DEMO-1"), ("182400", "DEMO-2")):
        out.rule(f"$ ledger pay {nik} --amount {amount} --ref {ref}")
        try:
            pay(nik, amount, ref, None, "perisai", "AG-3276-001")
        except LedgerError as error:
            out.print(f"error [{error.code}]: {error.message}", markup=False)
    out.rule(f"$ ledger status {nik}")
    status(nik, None, False, False)
    out.rule("$ ledger replay --compare")
    replay_command(None, None, True, None, False)
    out.print("\nTry: ledger --help, ledger status NIK_OR_ID --as-of YYYY-MM-DD, "
              "ledger coverage --level regency --region 32, ledger import contributions FILE.csv")


# --- projections and queries ----------------------------------------------------------------

projections_app = typer.Typer(help="Read models: run, rebuild, inspect.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


@contextmanager
def open_views() -> Iterator[tuple[Ledger, Any, Any]]:
    """The ledger, its view store and a runner over them."""
    settings = Settings()
    with open_ledger() as ledger:
        store = build_view_store(settings)
        try:
            yield ledger, store, build_runner(ledger, store, settings=settings)
        finally:
            store.close()


def catch_up(runner: Any, label: str = "catching up") -> None:
    """Bring the projections to the head of the log, with a bar when it takes a while."""
    behind = runner.head() - runner.position()
    if behind <= 0:
        return
    if behind < 20_000:
        runner.catch_up()
        return
    with progress_bar() as bar:
        task = bar.add_task(label, total=runner.head())
        runner.catch_up(progress=lambda done, total: bar.update(task, completed=done, total=total))


@projections_app.command("run")
def projections_run(
    poll: Annotated[float, typer.Option(help="Seconds between looks at the log.")] = 0.2,
) -> None:
    """Catch up, then follow the log as it grows (Ctrl-C stops)."""
    with open_views() as (_, store, runner):
        catch_up(runner)
        err.print(f"following the log from position {runner.position():,} ({store.describe()})")
        try:
            runner.run_forever(poll_seconds=poll)
        except KeyboardInterrupt:
            err.print(f"stopped at position {runner.position():,}")


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection; all by default.")] = None,
) -> None:
    """Replay the whole log into fresh tables, then swap them in at once."""
    with open_views() as (_, _store, runner):
        if name is not None and name not in runner.projections:
            raise typer.BadParameter(f"unknown projection {name}; one of {', '.join(runner.projections)}")
        with progress_bar() as bar:
            task = bar.add_task(f"rebuilding {name or 'all'}", total=runner.head())
            generations = runner.rebuild([name] if name else None,
                                         progress=lambda d, t: bar.update(task, completed=d, total=t))
    for projection, generation in generations.items():
        out.print(f"{projection}: generation {generation} is live")


@projections_app.command("status")
def projections_status(json: JsonOption = False) -> None:
    """Each projection's position and lag behind the log."""
    with open_views() as (_, _store, runner):
        head = runner.head()
        states = runner.states()
    rows = [{"name": s.name, "generation": s.generation, "live": s.live, "position": s.position,
             "head": head, "lag": head - s.position, "updated_at": s.updated_at} for s in states]
    if json:
        emit_json(rows)
        return
    table = Table("projection", "generation", "live", "position", "log head", "lag", "updated (UTC)")
    for r in rows:
        table.add_row(r["name"], str(r["generation"]), "yes" if r["live"] else "building",
                      f"{r['position']:,}", f"{r['head']:,}", f"{r['lag']:,}", r["updated_at"])
    out.print(table)


@app.command("coverage")
def coverage_command(
    period: Annotated[str | None, typer.Option(help="YYYY-MM; default this month.")] = None,
    level: Annotated[str, typer.Option(help="nation, province, regency, district or village.")] = "nation",
    region: Annotated[str | None, typer.Option(help="Only within this region code.")] = None,
    programme: Annotated[str | None, typer.Option(help="JKK, JKM or JHT.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Counts as recorded at this time (ISO timestamp or date, UTC).")] = None,
    json: JsonOption = False,
    csv_file: Annotated[str | None, typer.Option("--csv", help="Write rows as CSV to FILE ('-': stdout).")] = None,
) -> None:
    """Covered (active) participants per region for a month, with activity and the target."""
    from projections.queries import coverage

    month = Period.parse(period) if period else Period.containing(date.today())
    code = normalise_region(region)
    with open_views() as (ledger, store, runner):
        target = ledger.rules.at(month.first_day).national_target_active
        if as_of is None:
            catch_up(runner)
            answer = coverage(store, period=month, level=level, region=code,
                              programme=programme.upper() if programme else None,
                              national_target=target)
        else:
            with scratch_views(ledger, as_of=parse_moment(as_of)) as (scratch, position):
                answer = coverage(scratch, period=month, level=level, region=code,
                                  programme=programme.upper() if programme else None,
                                  national_target=target)
                answer["position"] = position
                answer["as_of"] = parse_moment(as_of).isoformat()
    if csv_file is not None:
        write_coverage_csv(answer, csv_file)
        return
    if json:
        emit_json(answer)
        return
    print_coverage(answer)


def normalise_region(region: str | None) -> str | None:
    if not region:
        return None
    text = region.strip()
    if "." not in text and text.isdigit():
        text = ".".join(p for p in (text[:2], text[2:4], text[4:6], text[6:]) if p)
    return text


def print_coverage(answer: dict[str, Any]) -> None:
    where = f" in {answer['region']}" if answer["region"] else ""
    table = Table(title=f"Active participants, {answer['period']}, by {answer['level']}{where} "
                        f"(log position {answer['position']:,})")
    for column in ("region", "name", "active", "JKK", "JKM", "JHT", "enrolled", "contributions",
                   "rupiah", "claims"):
        table.add_column(column, justify="right" if column not in ("region", "name") else "left")
    for r in answer["rows"]:
        table.add_row(r["region"] or "ID", r["name"] or "", f"{r['active']:,}",
                      *(f"{r['by_programme'][p]:,}" for p in ("JKK", "JKM", "JHT")),
                      f"{r['enrollments']:,}", f"{r['contributions']:,}",
                      f"{r['contribution_amount']:,}", f"{r['claims_filed']:,}")
    out.print(table)
    target = answer.get("national_target")
    if target:
        out.print(f"National: {target['active']:,} active of the {target['target']:,} target "
                  f"({100 * target['progress']:.4f}%)")


def write_coverage_csv(answer: dict[str, Any], destination: str) -> None:
    import csv

    columns = ["period", "level", "region", "name", "active", "jkk", "jkm", "jht", "enrollments",
               "contributions", "contribution_amount", "claims_filed", "claims_paid",
               "benefits_paid", "position"]
    handle = sys.stdout if destination == "-" else open(destination, "w", newline="")  # noqa: SIM115
    try:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for r in answer["rows"]:
            writer.writerow([answer["period"], answer["level"], r["region"], r["name"], r["active"],
                             r["by_programme"]["JKK"], r["by_programme"]["JKM"],
                             r["by_programme"]["JHT"], r["enrollments"], r["contributions"],
                             r["contribution_amount"], r["claims_filed"], r["claims_paid"],
                             r["benefits_paid"], answer["position"]])
    finally:
        if handle is not sys.stdout:
            handle.close()


def parse_moment(text: str) -> datetime:
    """An ISO timestamp (UTC unless it says otherwise), or a date meaning its end (UTC)."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError("invalid_timestamp",
                                f"'{text}' is not a date or an ISO timestamp.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def scratch_views(ledger: Ledger, *, until_position: int | None = None,
                  as_of: datetime | None = None) -> Iterator[tuple[Any, int]]:
    """The projections as they stood at a past point, built in a temporary SQLite store."""
    import tempfile

    from infra.bootstrap import projection_mapper
    from projections.runner import replay as replay_log
    from projections.store import SQLiteViewStore

    with tempfile.TemporaryDirectory(prefix="ledger-replay-") as folder:
        scratch = SQLiteViewStore(Path(folder) / "views.db")
        try:
            with progress_bar() as bar:
                task = bar.add_task("replaying", total=until_position or ledger.recorder.max_notification_id())
                position = replay_log(ledger.recorder, projection_mapper(ledger), scratch,
                                      all_projections(), until_position=until_position, as_of=as_of,
                                      progress=lambda d, t: bar.update(task, completed=d, total=t))
            yield scratch, position
        finally:
            scratch.close()


@app.command("replay")
def replay_command(
    until_position: Annotated[int | None, typer.Option(min=0, help="Up to this log position.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Only events recorded by then.")] = None,
    compare: Annotated[bool, typer.Option(help="Compare with the live projections (at the head).")] = False,
    period: Annotated[str | None, typer.Option(help="Month to summarise; default this month.")] = None,
    json: JsonOption = False,
) -> None:
    """Rebuild the projections as they stood at a past point, for audits."""
    from projections.queries import compare as compare_stores
    from projections.queries import coverage

    if compare and (until_position is not None or as_of is not None):
        raise InvalidInputError("compare_at_head", "--compare replays to the head of the log; "
                                "leave out --until-position and --as-of.")
    moment = parse_moment(as_of) if as_of else None
    month = Period.parse(period) if period else Period.containing(date.today())
    differences: list[str] = []
    with open_views() as (ledger, store, runner), scratch_views(
            ledger, until_position=until_position, as_of=moment) as (scratch, position):
        summary = coverage(scratch, period=month)
        if compare:
            runner.catch_up(until=position)
            differences = compare_stores(store, scratch, all_projections())
    body = {"position": position, "as_of": moment.isoformat() if moment else None,
            "period": str(month), "active": summary["total"]["active"],
            "by_programme": summary["total"]["by_programme"]}
    if compare:
        body["compared"] = True
        body["differences"] = differences
    if json:
        emit_json(body)
    else:
        out.print(f"Replayed to log position {position:,}"
                  + (f" (events recorded by {moment.isoformat()})" if moment else "")
                  + f": {body['active']:,} active in {month}.")
        if compare:
            out.print("[green]Live projections equal the replay, row for row.[/green]"
                      if not differences else "[red]Live projections differ from the replay:[/red]")
            for line in differences:
                out.print(f"  {escape(line)}")
    if compare and differences:
        raise typer.Exit(1)


@app.command("bench")
def bench_command(
    quick: Annotated[bool, typer.Option("--quick", help="Small scale, few repeats: a minute or two.")] = False,
    json: JsonOption = False,
    scales: Annotated[str | None, typer.Option(
        help="Participants per scale, comma-separated (default 10000,100000,1000000; quick 1000).")] = None,
    months: Annotated[int | None, typer.Option(min=1, max=120, help="Months of history (24; quick 12).")] = None,
    stores: Annotated[str, typer.Option(help="sqlite, postgres or both, comma-separated.")] = "sqlite,postgres",
    repeats: Annotated[int | None, typer.Option(min=1, help="Repeats of the cheap figures (3).")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="The Markdown report (rewritten).")] = Path("BENCHMARKS.md"),
    workdir: Annotated[Path | None, typer.Option(help="Where the temporary stores go.")] = None,
    postgres_url: Annotated[str | None, typer.Option(
        envvar="LEDGER_BENCH_POSTGRES_URL",
        help="A PostgreSQL database to create bench_* schemas in.")] = None,
    merge: Annotated[bool, typer.Option(
        help="Keep the earlier JSON's figures for scales not measured now.")] = False,
    profile: Annotated[bool | None, typer.Option(
        "--profile/--no-profile", help="cProfile each path once (default: on with --quick).")] = None,
) -> None:
    """Benchmarks with same-run baselines; writes BENCHMARKS.md (and .json beside it)."""
    import os
    import tempfile

    from infra.bench import Report, run_suite, write_json, write_markdown

    try:
        scale_list = [int(s.replace("_", "")) for s in scales.split(",")] if scales else None
    except ValueError:
        raise InvalidInputError("invalid_scales", "Scales are whole numbers: --scales 10000,100000") from None
    store_list = [s.strip().lower() for s in stores.split(",") if s.strip()]
    url = postgres_url or os.environ.get("LEDGER_TEST_POSTGRES_URL") \
        or "postgresql://ledger:ledger@127.0.0.1:5432/ledger_test"
    json_file = out_file.with_suffix(".json")
    previous = None
    if merge and json_file.exists():
        previous = Report.from_dict(orjson.loads(json_file.read_bytes()))

    def checkpoint(report: Report) -> None:
        write_markdown(report, out_file)
        write_json(report, json_file)
        err.print(f"  partial results written to {out_file}", highlight=False)

    base = workdir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-", dir=base) as folder:
        report = run_suite(quick, scale_list, store_list, repeats or 3, Path(folder),
                           lambda line: err.print(line, highlight=False, markup=False),
                           months=months, postgres_url=url, profile=profile,
                           checkpoint=checkpoint, previous=previous)
    write_markdown(report, out_file)
    write_json(report, json_file)
    if json:
        emit_json(report.as_dict())
        return
    table = Table("figure", "store", "participants", "value", "baseline", "ratio", "target", "met?")
    for f in report.figures:
        if f.name.startswith("memory_"):
            continue
        table.add_row(f.name, f.store, f"{f.scale:,}",
                      "-" if f.value is None else f"{f.value:,.3g} {f.unit}",
                      "-" if f.baseline is None else f"{f.baseline:,.3g}",
                      "-" if f.ratio is None else f"{f.ratio:.2f}x", f.target or "",
                      "" if f.target_met is None else ("yes" if f.target_met else "no"))
    (out if out.is_terminal else Console(width=160)).print(table)
    for message in report.errors:
        err.print(f"[yellow]bench error[/yellow]: {escape(message)}", highlight=False)
    out.print(f"Written {out_file} and {json_file}.")


# --- entry point --------------------------------------------------------------------------


def main() -> None:
    try:
        app()
    except LedgerError as error:
        err.print(f"[red]error[/red] {escape(f'[{error.code}]')}: {escape(error.message)}",
                  highlight=False)
        sys.exit(1)
    except ConfigurationError as error:
        err.print(f"[red]configuration error[/red]: {escape(str(error))}", highlight=False)
        sys.exit(3)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback for users
        err.print(f"[red]internal error[/red] ({type(error).__name__}): {escape(str(error))}",
                  highlight=False)
        sys.exit(70)
