"""Phase: single commands (`enroll`, then each `record_contribution`), through the group
committer from concurrent callers and one by one, against the naive baseline; and the
same commands into the store seeded at the scale.

Each command arrives as a row of fields and is parsed into its typed command inside the
timed loop, as at any way in (the naive baseline reads the same rows)."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from domain.commands import Enroll, RecordContribution, parse
from domain.errors import LedgerError
from tools.bench.baselines import NaiveLedger
from tools.bench.config import CALLERS, SEED
from tools.bench.machine import profile_top
from tools.bench.stats import make_figure, median
from tools.bench.stores import fresh_store, log_head, system_on
from tools.seed import PAY, plan_population

if TYPE_CHECKING:
    from infra.bootstrap import System
    from tools.bench.suite import Suite


def single_command_rows(
    plan: Any, commands: int
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """People whose history is payments only (so no other command changes their dues),
    with their payments in date order, until about `commands` commands."""
    by_person: dict[int, list[Any]] = {}
    other: set[int] = set()
    for action in plan.actions:
        if action.kind == PAY:
            by_person.setdefault(action.person, []).append(action)
        else:
            other.add(action.person)
    chosen: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    count = 0
    for person in plan.people:
        if person.index in other:
            continue
        payments = [
            {k: a.args[k] for k in ("payment_ref", "amount", "paid_on", "channel", "agent_id")}
            for a in by_person.get(person.index, [])
        ]
        chosen.append((person.enrollment_row(), payments))
        count += 1 + len(payments)
        if count >= commands:
            break
    return chosen


def _run_single(
    ledger: Any, rows: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> tuple[float, int, list[dict[str, Any]]]:
    """Our single commands; returns (seconds, events, the settled facts for the naive app)."""
    before = log_head(ledger)
    settled: list[dict[str, Any]] = []
    started = time.perf_counter()
    for enrollment, payments in rows:
        try:
            pid = ledger.enroll(parse(Enroll, enrollment))
        except LedgerError:
            continue  # a NIK already in a loaded store: skip the person
        for payment in payments:
            result = ledger.record_contribution(
                parse(RecordContribution, payment, participant_id=str(pid))
            )
            settled.append(
                {**payment, "first_month": str(result.first_month), "months": result.months}
            )
    seconds = time.perf_counter() - started
    return seconds, log_head(ledger) - before, settled


def _run_grouped(
    system: System, rows: list[tuple[dict[str, Any], list[dict[str, Any]]]], callers: int = CALLERS
) -> tuple[float, int, int]:
    """The same single commands from `callers` threads at once (each a field agent: a
    person's enrollment, then their payments in order) through the system's group
    committer; returns (seconds, events, transactions)."""
    ledger = system.ledger
    before = log_head(ledger)
    failures: list[BaseException] = []
    committer = system.committer
    with committer:

        def agent(share: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
            try:
                for enrollment, payments in share:
                    pid = committer.enroll(parse(Enroll, enrollment))
                    for payment in payments:
                        committer.record_contribution(
                            parse(RecordContribution, payment, participant_id=str(pid))
                        )
            except BaseException as error:  # noqa: BLE001 - re-raised after the join
                failures.append(error)

        threads = [
            threading.Thread(target=agent, args=(rows[i::callers],))
            for i in range(min(callers, len(rows)))
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return seconds, log_head(ledger) - before, committer.rounds


def _run_naive(
    app: NaiveLedger,
    rows: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    settled: list[dict[str, Any]],
) -> tuple[float, int]:
    facts = iter(settled)
    before = int(app.recorder.max_notification_id() or 0)
    started = time.perf_counter()
    for enrollment, payments in rows:
        pid = app.enroll(enrollment)
        for _ in payments:
            app.pay(pid, next(facts))
    seconds = time.perf_counter() - started
    return seconds, int(app.recorder.max_notification_id() or 0) - before


def single_vs_naive(
    suite: Suite,
    kind: str,
    scale: int,
    months: int,
    rows: list[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> None:
    ours: list[float] = []
    grouped: list[float] = []
    per_commit: list[float] = []
    naive: list[float] = []
    commands = sum(1 + len(p) for _, p in rows)
    with suite.phase(kind, scale, "single_commands", repeats=suite.repeats) as ph:
        for _ in range(suite.repeats):
            with fresh_store(kind, suite.workdir, suite.postgres_url) as store:
                with system_on(store) as system:
                    seconds, events, settled = _run_single(system.ledger, rows)
                ours.append(events / seconds)
                app = NaiveLedger(env=store.naive_env())
                try:
                    naive_seconds, naive_events = _run_naive(app, rows, settled)
                finally:
                    app.close()
                naive.append(naive_events / naive_seconds)
                ph.events += events
            with fresh_store(kind, suite.workdir, suite.postgres_url) as store:
                with system_on(store) as system:
                    seconds, events, rounds = _run_grouped(system, rows)
                grouped.append(events / seconds)
                per_commit.append(commands / max(rounds, 1))
                ph.events += events
            suite.say(
                f"  single: grouped {grouped[-1]:,.0f} ev/s ({per_commit[-1]:.1f} "
                f"commands per commit), serial {ours[-1]:,.0f} ev/s, "
                f"naive {naive[-1]:,.0f} ev/s"
            )
    if suite.profile:
        with fresh_store(kind, suite.workdir, suite.postgres_url) as store:
            few = rows[: max(1, len(rows) // 2)]
            done: list[Any] = []
            with system_on(store) as system:
                suite.report.profiles[f"{kind}: single commands (ours)"] = profile_top(
                    lambda: done.append(_run_single(system.ledger, few))
                )
            app = NaiveLedger(env=store.naive_env())
            try:
                suite.report.profiles[f"{kind}: single commands (naive baseline)"] = profile_top(
                    lambda: _run_naive(app, few, done[0][2])
                )
            finally:
                app.close()
    suite.single_fresh[kind] = median(ours) or 0.0
    baseline_name = (
        "plain eventsourcing Application, default JSONTranscoder, no encryption, "
        "one save per command, same facts, same store kind"
    )
    suite.add(
        make_figure(
            "ingest_single_vs_naive",
            grouped,
            "events/s",
            baseline_values=naive,
            baseline_name=baseline_name,
            store=kind,
            scale=scale,
            months=months,
            notes=f"fresh store; {len(rows)} people, {commands} commands from {CALLERS} "
            "concurrent callers (a person each at a time: enroll, then each payment) "
            "through the group committer, each acknowledged after its commit; "
            f"median {median(per_commit) or 0:.1f} commands per transaction; the "
            "naive baseline runs the same commands from one caller, a transaction each "
            "(concurrent callers would not help it: every command still commits alone)",
        )
    )
    suite.add(
        make_figure(
            "ingest_single_serial_vs_naive",
            ours,
            "events/s",
            baseline_values=naive,
            baseline_name=baseline_name,
            store=kind,
            scale=scale,
            months=months,
            notes=f"fresh store; {len(rows)} people, {commands} commands from one caller "
            "(enroll, then each payment one by one), a transaction each on both sides; "
            "2 events per command on both sides; ours and naive interleaved per repeat",
        )
    )


def single_loaded(suite: Suite, kind: str, ledger: Any, scale: int, months: int, end: date) -> None:
    # New people each time: a kept store measured again already holds the people (NIKs,
    # payment references) an earlier run added, and would refuse them all.
    head = log_head(ledger)
    rows = single_command_rows(
        plan_population(
            participants=max(200, min(2000, scale // 10)),
            months=months,
            seed=SEED + 1 + head,
            end=end,
        ),
        600 if suite.quick else 3000,
    )
    with suite.phase(kind, scale, "single_commands_loaded") as ph:
        seconds, events, _ = _run_single(ledger, rows)
        ph.events = events
        if not events:
            suite.report.errors.append(
                f"{kind} {scale:,}: single_commands_loaded recorded nothing (every person refused)"
            )
            return
        rate = events / seconds
        suite.add(
            make_figure(
                "ingest_single_loaded",
                [rate],
                "events/s",
                baseline_values=[suite.single_fresh[kind]] if suite.single_fresh.get(kind) else [],
                baseline_name="the same single commands on a fresh store (ingest_single_vs_naive)",
                store=kind,
                scale=scale,
                months=months,
                notes=f"into the store seeded at this scale ({head:,} events "
                "before); "
                "ratio < 1: the write path slows as the store grows",
            )
        )
