"""Projections against the log they are built from, on SQLite and PostgreSQL.

- live processing (many small pages, interleaved with commands) equals a rebuild and an
  independent count written here straight from the events, under random histories;
- a runner killed with SIGKILL mid catch-up neither skips nor double-applies a page;
- coverage adds up across region levels;
- replays to a recorded time or a position see only what was recorded by then;
- a rebuild swaps its tables in at once, as readers see it;
- the `ledger coverage` and `ledger replay` commands.

The expected views are computed here from the decoded events, following the documented
rules (projections/coverage.py, projections/participant_status.py docstrings), without
calling any projections code.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import event as hypothesis_event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr

from api.services.replay import replay as replay_service
from domain.commands import (
    ApproveClaim,
    ChangeProgrammes,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
    parse,
)
from domain.coverage import monthly_due
from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.participant import Participant
from domain.values import Period
from infra import view_store
from infra.bootstrap import System, all_projections, build_system
from infra.settings import Settings, parse_database_url
from infra.view_store import PostgresViewStore, SQLiteViewStore
from projections import bulk
from projections import runner as runner_module
from projections.coverage_log import CoverageLogProjection
from projections.queries import compare, coverage
from projections.runner import ProjectionRunner, RebuildError, replay
from projections.store import ViewStore
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER, require_postgres
from tests.factories import MONTHLY_JKK_JKM_1_5M, OTHER_VILLAGE, enrollment
from tools.seed import seed_population

LEDGER = str(Path(sys.executable).with_name("ledger"))

# Real villages: two in one district, a second district of the same regency, another
# regency of the same province, another province.
VILLAGES = ("12.71.01.1001", "12.71.01.1002", "12.71.02.1001", "12.12.01.1034", "32.76.01.1006")
CHANNELS = (
    ("perisai", "AG-0001"),
    ("perisai", "AG-0002"),
    ("bank", None),
    ("village_office", None),
    ("online", None),
)
PROGRAMMES = ("JKK", "JKM", "JHT")
ACTIVITY = (
    "enrollments",
    "contributions",
    "contribution_amount",
    "claims_filed",
    "claims_paid",
    "benefits_paid",
)
LEVELS = (("village", 13), ("district", 8), ("regency", 5), ("province", 2), ("nation", 0))
SEED_END = date(2025, 6, 30)


def month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


# --- independent expectations, straight from the events ----------------------------------


def log_events(ledger: Ledger, until_position: int | None = None) -> list[tuple[int, Any]]:
    """(position, decoded event) for every participant event in the log, in log order."""
    found: list[tuple[int, Any]] = []
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start=start, limit=1000)
        if not page:
            return found
        for n in page:
            if until_position is not None and n.id > until_position:
                return found
            event = ledger.mapper.to_domain_event(n)
            if isinstance(event, Participant.Event):
                found.append((n.id, event))
        start = page[-1].id + 1


class Expected:
    """coverage_monthly, coverage_activity and participant_status as the documented rules
    give them, from a sequence of events in log order."""

    def __init__(self, events: Iterable[Any]) -> None:
        village: dict[str, str] = {}
        timeline: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        incomes: dict[str, list[tuple[int, int]]] = {}
        paid: dict[str, set[int]] = defaultdict(set)
        spans: dict[str, dict[int, int]] = defaultdict(dict)  # first month -> months
        ended: dict[str, int] = {}
        activity: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0] * 6)
        status: dict[str, dict[str, Any]] = {}
        for e in events:
            pid = str(e.originator_id)
            if isinstance(e, Participant.Enrolled):
                month = month_of(e.enrolled_on)
                village[pid] = e.village
                timeline[pid] = [(month, tuple(e.programmes))]
                incomes[pid] = [(month, e.declared_income)]
                activity[(month, e.village, e.channel, e.agent_id or "")][0] += 1
                status[pid] = {
                    "village": e.village,
                    "district": e.village[:8],
                    "regency": e.village[:5],
                    "province": e.village[:2],
                    "segment": e.segment,
                    "channel": e.channel,
                    "agent_id": e.agent_id or "",
                    "enrolled_on": e.enrolled_on.isoformat(),
                    "declared_income": e.declared_income,
                    "paid_through": None,
                    "last_paid_on": None,
                    "months_paid": 0,
                    "contributions": 0,
                    "total_contributions": 0,
                    "jht_paid_in": 0,
                    "claims_filed": 0,
                    "open_claims": 0,
                    "benefits_paid": 0,
                    "died_on": None,
                    "withdrawn_on": None,
                    "erased_on": None,
                }
                continue
            row = status[pid]
            if isinstance(e, Participant.ContributionPaid):
                months = [e.first_month.index + i for i in range(e.months)]
                paid[pid].update(months)
                spans[pid][e.first_month.index] = e.months
                cell = activity[(month_of(e.paid_on), village[pid], e.channel, e.agent_id or "")]
                cell[1] += 1
                cell[2] += e.amount
                row["paid_through"] = max([*months, row["paid_through"] or 0])
                row["last_paid_on"] = max(row["last_paid_on"] or "", e.paid_on.isoformat())
                row["months_paid"] += e.months
                row["contributions"] += 1
                row["total_contributions"] += e.amount
                row["jht_paid_in"] += e.by_programme.get("JHT", 0)
            elif isinstance(e, Participant.ContributionsResettled):
                # payments that an earlier-dated one moved: their months before and after
                was = {m["was_first_month"].index for m in e.moves}
                kept = {f: n for f, n in spans[pid].items() if f not in was}
                for m in e.moves:
                    kept[m["first_month"].index] = m["months"]
                    row["months_paid"] += m["months"] - m["was_months"]
                    row["jht_paid_in"] += m["by_programme"].get("JHT", 0) - m["was_jht_amount"]
                spans[pid] = kept
                paid[pid] = {f + i for f, n in kept.items() for i in range(n)}
                row["paid_through"] = max(paid[pid]) if paid[pid] else None
            elif isinstance(e, Participant.ProgrammesChanged):
                timeline[pid].append((e.from_month.index, tuple(e.programmes)))
            elif isinstance(e, Participant.IncomeDeclared):
                incomes[pid].append((e.from_month.index, e.declared_income))
            elif isinstance(e, Participant.DetailsCorrected):
                if e.village is not None:
                    village[pid] = e.village
                    row.update(
                        village=e.village,
                        district=e.village[:8],
                        regency=e.village[:5],
                        province=e.village[:2],
                    )
            elif isinstance(e, Participant.Died):
                ended[pid] = min(ended.get(pid, month_of(e.died_on)), month_of(e.died_on))
                row["died_on"] = e.died_on.isoformat()
            elif isinstance(e, Participant.Withdrew):
                ended[pid] = min(ended.get(pid, month_of(e.withdrawn_on)), month_of(e.withdrawn_on))
                row["withdrawn_on"] = e.withdrawn_on.isoformat()
            elif isinstance(e, Participant.PersonalDataErased):
                row["erased_on"] = e.erased_on.isoformat()
            elif isinstance(e, Participant.ClaimFiled):
                activity[(month_of(e.filed_on), village[pid], "", "")][3] += 1
                row["claims_filed"] += 1
                row["open_claims"] += 1
            elif isinstance(e, Participant.ClaimRejected):
                row["open_claims"] -= 1
            elif isinstance(e, Participant.ClaimPaid):
                cell = activity[(month_of(e.paid_on), village[pid], "", "")]
                cell[4] += 1
                cell[5] += e.amount
                row["open_claims"] -= 1
                row["benefits_paid"] += e.amount

        monthly: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for pid, paid_months in paid.items():
            entries = sorted(timeline[pid], key=lambda entry: entry[0])  # stable: ties keep order
            for month in sorted(paid_months):
                if pid in ended and month > ended[pid]:
                    continue
                in_force = entries[0][1]
                for start, codes in entries:
                    if start <= month:
                        in_force = codes
                cell = monthly[(month, village[pid])]
                cell[0] += 1
                for code in in_force:
                    cell[1 + PROGRAMMES.index(code)] += 1
        for pid, row in status.items():
            # The programmes in force from the latest month the timeline names on: the row
            # says "these programmes from this month", which must hold for every month from
            # it on. Any month from where those programmes hold without a break up to the
            # latest change's month says so truly (a change to the same programmes is no
            # change), so the expectation is a range.
            entries = sorted(timeline[pid], key=lambda entry: entry[0])
            last_start, codes = entries[-1]
            first_start = last_start
            for start, earlier in reversed(entries[:-1]):
                if earlier != codes:
                    break
                first_start = start
            row["programmes"] = "+".join(codes)
            row["programmes_from"] = (first_start, last_start)
            row["declared_income"] = max(  # the latest month; ties: the latest event
                reversed(incomes[pid]), key=lambda entry: entry[0]
            )[1]
        self.monthly = {k: tuple(v) for k, v in monthly.items() if any(v)}
        self.activity = {k: tuple(v) for k, v in activity.items() if any(v)}
        self.status = status

    def nation(self, month: int) -> dict[str, Any]:
        cells = [v for (m, _), v in self.monthly.items() if m == month]
        acts = [v for k, v in self.activity.items() if k[0] == month]
        return {
            "active": sum(c[0] for c in cells),
            "by_programme": {p: sum(c[1 + i] for c in cells) for i, p in enumerate(PROGRAMMES)},
            **{name: sum(a[i] for a in acts) for i, name in enumerate(ACTIVITY)},
        }


STATUS_CHECKED = (
    "village",
    "district",
    "regency",
    "province",
    "segment",
    "channel",
    "agent_id",
    "enrolled_on",
    "declared_income",
    "programmes",
    "programmes_from",
    "paid_through",
    "last_paid_on",
    "months_paid",
    "contributions",
    "total_contributions",
    "jht_paid_in",
    "claims_filed",
    "open_claims",
    "benefits_paid",
    "died_on",
    "withdrawn_on",
    "erased_on",
)


def live_generation(tx: Any, name: str) -> int:
    rows = tx.query("SELECT generation FROM projections WHERE name = ? AND live = 1", (name,))
    assert len(rows) == 1, f"{name}: {len(rows)} live generations"
    return int(rows[0][0])


def actual_views(
    store: ViewStore,
) -> tuple[dict[Any, tuple[int, ...]], dict[Any, tuple[int, ...]], dict[str, dict[str, Any]]]:
    """The live tables as plain dicts, read with SQL only."""
    with store.transaction() as tx:
        g = live_generation(tx, "coverage")
        monthly = {
            (int(r[0]), r[1]): tuple(int(v) for v in r[2:])
            for r in tx.query(
                f"SELECT month, village, active, jkk, jkm, jht FROM coverage_monthly_g{g}"
            )
        }
        activity = {
            (int(r[0]), r[1], r[2], r[3]): tuple(int(v) for v in r[4:])
            for r in tx.query(
                f"SELECT month, village, channel, agent_id, {', '.join(ACTIVITY)} "
                f"FROM coverage_activity_g{g}"
            )
        }
        s = live_generation(tx, "participant_status")
        status = {
            r[0]: dict(zip(STATUS_CHECKED, r[1:], strict=True))
            for r in tx.query(
                f"SELECT participant_id, {', '.join(STATUS_CHECKED)} FROM participant_status_g{s}"
            )
        }
    for row in status.values():
        for key in (
            "declared_income",
            "programmes_from",
            "months_paid",
            "contributions",
            "total_contributions",
            "jht_paid_in",
            "claims_filed",
            "open_claims",
            "benefits_paid",
        ):
            row[key] = int(row[key])
        row["paid_through"] = None if row["paid_through"] is None else int(row["paid_through"])
    return monthly, activity, status


def assert_views_match(store: ViewStore, expected: Expected) -> None:
    monthly, activity, status = actual_views(store)
    assert [k for k, v in monthly.items() if not any(v)] == [], "zero cells must be deleted"
    assert diff(monthly, expected.monthly) == {}, "coverage_monthly"
    assert diff(activity, expected.activity) == {}, "coverage_activity"
    assert set(status) == set(expected.status), "participant_status rows"
    wrong = {
        pid: {
            k: (status[pid][k], expected.status[pid][k])
            for k in STATUS_CHECKED
            if not same(k, status[pid][k], expected.status[pid][k])
        }
        for pid in status
    }
    assert {pid: d for pid, d in wrong.items() if d} == {}, "participant_status (actual, expected)"


def same(column: str, actual: Any, expected: Any) -> bool:
    if column == "programmes_from":
        low, high = expected
        return bool(low <= actual <= high)
    return bool(actual == expected)


def diff(actual: dict[Any, Any], expected: dict[Any, Any]) -> dict[Any, tuple[Any, Any]]:
    """{key: (actual, expected)} where they differ."""
    return {
        k: (actual.get(k), expected.get(k))
        for k in set(actual) | set(expected)
        if actual.get(k) != expected.get(k)
    }


def snapshot(store: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every live projection table, in key order (for before/after checks)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.transaction() as tx:
        for projection in all_projections():
            g = live_generation(tx, projection.name)
            for table in projection.tables:
                key = projection.key_columns(table)
                out[table] = tx.query(f"SELECT * FROM {table}_g{g} ORDER BY {key}")
    return out


# --- stores ------------------------------------------------------------------------------


def settings_for(url: str, folder: Path) -> Settings:
    return Settings(
        database_url=url,
        var_dir=folder / "var",
        nik_pepper=SecretStr(TEST_PEPPER),
        master_key=SecretStr(TEST_MASTER_KEY),
    )


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped afterwards); yields the ledger URL for it."""
    import psycopg

    base = require_postgres()
    schema = f"p_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def fresh_settings(store: str) -> Iterator[Settings]:
    """Settings for an empty ledger on `store`, for one hypothesis example."""
    with tempfile.TemporaryDirectory(prefix="projections-") as folder:
        if store == "sqlite":
            yield settings_for(f"sqlite:///{folder}/ledger.db", Path(folder))
        else:
            with pg_schema() as url:
                yield settings_for(url, Path(folder))


@contextmanager
def other_view_store(settings: Settings, folder: Path) -> Iterator[ViewStore]:
    """An empty view store of the same kind as the settings' one, elsewhere."""
    # Built directly on purpose: a second store no system owns, to compare against.
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        store = SQLiteViewStore(folder / f"other-{uuid.uuid4().hex[:8]}-views.db")
        try:
            yield store
        finally:
            store.close()
        return
    with pg_schema() as url:
        other = PostgresViewStore(
            parse_database_url(url).conninfo, schema=parse_database_url(url).schema
        )
        try:
            yield other
        finally:
            other.close()


def cli_env(settings: Settings, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_VAR_DIR": str(folder / "var"),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "COLUMNS": "200",
    }


def run_cli(settings: Settings, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGER, *args],
        env=cli_env(settings, folder),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=folder,
        check=False,
    )


# --- commands for the histories ----------------------------------------------------------


class Driver:
    """Runs abstract commands against a ledger, a date at a time, accepting refusals."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.today = date(2024, 1, 2)
        self.people: list[UUID] = []
        self.refs = 0
        self.accepted: dict[str, int] = defaultdict(int)

    def advance(self, days: int) -> None:
        self.today = min(self.today + timedelta(days=days), date(2025, 12, 31))

    def who(self, index: int) -> UUID | None:
        return self.people[index % len(self.people)] if self.people else None

    def amount_for(self, pid: UUID, months: int, paid_on: date | None = None) -> int:
        """The dues for `months` months as `settle` would take them on `paid_on` (today by
        default), after the payments dated before (computed from the rules)."""
        p = self.ledger.get_participant(pid)
        rules = self.ledger.rules
        day = paid_on or self.today
        current = Period.containing(day)
        last = max((s.last for s in p.payments if s.paid_on <= day), default=None)
        if last is None:
            start = max(current, Period.containing(p.enrolled_on))
        elif current <= last + rules.at(day).grace_months:
            start = last + 1
        else:
            start = current
        return sum(sum(monthly_due(p, start + i, rules).values()) for i in range(months))

    def run(self, command: tuple[Any, ...]) -> None:
        kind, *args = command
        if kind == "skip":
            self.advance(args[0])
            return
        self.advance(1)
        try:
            getattr(self, kind)(*args)
        except LedgerError:
            return
        self.accepted[kind] += 1

    def enroll(self, village: int, jht: bool, income: int, channel: int) -> None:
        code, agent = CHANNELS[channel]
        row = enrollment(
            village_code=VILLAGES[village],
            declared_income=income,
            programmes="JKK+JKM+JHT" if jht else "JKK+JKM",
            channel=code,
            agent_id=agent,
            enrolled_on=self.today.isoformat(),
        )
        self.people.append(self.ledger.enroll(parse(Enroll, row)))

    def pay(self, who: int, months: int, channel: int) -> None:
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        code, agent = CHANNELS[channel]
        self.refs += 1
        self.ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=f"H-{self.refs}",
                participant_id=str(pid),
                amount=self.amount_for(pid, months),
                paid_on=self.today,
                channel=code,
                agent_id=agent,
            )
        )

    def late_pay(self, who: int, months: int, days_back: int, channel: int) -> None:
        """A bank file recorded weeks after the money was paid."""
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        code, agent = CHANNELS[channel]
        paid_on = max(
            self.today - timedelta(days=days_back), self.ledger.get_participant(pid).enrolled_on
        )
        self.refs += 1
        self.ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=f"H-{self.refs}",
                participant_id=str(pid),
                amount=self.amount_for(pid, months, paid_on),
                paid_on=paid_on,
                channel=code,
                agent_id=agent,
            )
        )

    def programmes(self, who: int, jht: bool, ahead: int) -> None:
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        self.ledger.change_programmes(
            parse(
                ChangeProgrammes,
                participant_id=pid,
                programmes="JKK+JKM+JHT" if jht else "JKK+JKM",
                from_month=Period.containing(self.today) + ahead,
                changed_on=self.today,
            )
        )

    def move(self, who: int, village: int) -> None:
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        self.ledger.correct_details(
            parse(
                CorrectDetails,
                participant_id=pid,
                village_code=VILLAGES[village],
                corrected_on=self.today,
            )
        )

    def die(self, who: int) -> None:
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        self.ledger.record_death(parse(RecordDeath, participant_id=pid, died_on=self.today))

    def withdraw(self, who: int) -> None:
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        self.ledger.withdraw(parse(Withdraw, participant_id=pid, withdrawn_on=self.today))

    def claim(self, who: int) -> None:
        """Files a JKK claim for the chosen participant, else the next one it covers."""
        refusal: LedgerError = LedgerError("nobody", "nobody enrolled yet")
        for offset in range(len(self.people)):
            pid = self.people[(who + offset) % len(self.people)]
            try:
                self.ledger.file_claim(
                    parse(
                        FileClaim,
                        participant_id=pid,
                        programme="JKK",
                        kind="medical",
                        incident_date=self.today,
                        filed_on=self.today,
                        work_related=True,
                        description="fell",
                    )
                )
                return
            except LedgerError as error:
                refusal = error
        raise refusal

    def claim_next(self, who: int, reject: bool) -> None:
        """Moves an open claim on (the chosen participant's, else the next one's with one):
        a filed claim is approved or rejected, an approved one paid."""
        for offset in range(len(self.people)):
            pid = self.people[(who + offset) % len(self.people)]
            for claim_id, claim in self.ledger.get_participant(pid).claims.items():
                if claim["status"] == "filed":
                    if reject:
                        self.ledger.reject_claim(
                            parse(
                                RejectClaim,
                                participant_id=pid,
                                claim_id=UUID(claim_id),
                                reason="no report",
                                rejected_on=self.today,
                            )
                        )
                    else:
                        self.ledger.approve_claim(
                            parse(
                                ApproveClaim,
                                participant_id=pid,
                                claim_id=UUID(claim_id),
                                approved_on=self.today,
                                amount=750_000 + 1000 * offset,
                            )
                        )
                    return
                if claim["status"] == "approved":
                    self.ledger.pay_claim(
                        parse(
                            PayClaim,
                            participant_id=pid,
                            claim_id=UUID(claim_id),
                            paid_on=self.today,
                        )
                    )
                    return
        raise LedgerError("no_open_claim", "nothing to move on")

    def erase(self, who: int) -> None:
        pid = self.who(who)
        if pid is None:
            raise LedgerError("nobody", "nobody enrolled yet")
        self.ledger.erase_personal_data(
            parse(ErasePersonalData, participant_id=pid, erased_on=self.today)
        )


WHO = st.integers(0, 7)
CHANNEL = st.integers(0, len(CHANNELS) - 1)
ENROLL = st.tuples(
    st.just("enroll"),
    st.integers(0, len(VILLAGES) - 1),
    st.booleans(),
    st.sampled_from([1_000_000, 1_500_000, 3_000_000]),
    CHANNEL,
)
PAY = st.tuples(st.just("pay"), WHO, st.integers(1, 3), CHANNEL)
LATE_PAY = st.tuples(st.just("late_pay"), WHO, st.integers(1, 3), st.integers(1, 80), CHANNEL)
SKIP = st.one_of(
    st.tuples(st.just("skip"), st.integers(1, 100)), st.tuples(st.just("skip"), st.integers(25, 45))
)
CLAIM = st.tuples(st.just("claim"), WHO)
CLAIM_NEXT = st.tuples(st.just("claim_next"), WHO, st.booleans())
CATCH_UP = st.tuples(st.just("catch_up"))
ARGUMENTS = {
    "enroll": ENROLL,
    "pay": PAY,
    "late_pay": LATE_PAY,
    "skip": SKIP,
    "claim": CLAIM,
    "claim_next": CLAIM_NEXT,
    "catch_up": CATCH_UP,
    "programmes": st.tuples(st.just("programmes"), WHO, st.booleans(), st.integers(0, 5)),
    "move": st.tuples(st.just("move"), WHO, st.integers(0, len(VILLAGES) - 1)),
    "die": st.tuples(st.just("die"), WHO),
    "withdraw": st.tuples(st.just("withdraw"), WHO),
    "erase": st.tuples(st.just("erase"), WHO),
}
WEIGHTS = {
    "pay": 10,
    "late_pay": 4,
    "skip": 5,
    "catch_up": 3,
    "enroll": 2,
    "claim": 2,
    "claim_next": 2,
    "programmes": 2,
    "move": 2,
    "die": 1,
    "withdraw": 1,
    "erase": 1,
}
COMMAND = st.sampled_from([k for k, n in WEIGHTS.items() for _ in range(n)]).flatmap(
    ARGUMENTS.__getitem__
)
HISTORY = st.tuples(
    st.lists(ENROLL, min_size=1, max_size=4), st.lists(COMMAND, min_size=15, max_size=60)
)
EXAMPLES = int(os.environ.get("LEDGER_TEST_PROJECTION_EXAMPLES", "25"))


# --- 1. live == rebuild == independent count, under random histories ----------------------


@pytest.mark.parametrize("store", ["sqlite", "postgres", "postgres-copy"])
def test_live_projections_equal_a_rebuild_and_an_independent_count(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On "postgres-copy", every insert goes through PostgreSQL's binary COPY (as a big
    rebuild's do), so each table's declared column types are held to its schema."""
    if store.startswith("postgres"):
        require_postgres()
    if store == "postgres-copy":
        monkeypatch.setattr(view_store, "COPY_FROM", 1)
        store = "postgres"

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(history=HISTORY)
    def check(history: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]) -> None:
        enrolls, commands = history
        with fresh_settings(store) as settings, build_system(settings) as system:
            ledger, views = system.ledger, system.views
            runner = system.new_runner(page_size=7)
            driver = Driver(ledger)
            for command in [*enrolls, *commands]:
                if command[0] == "catch_up":
                    runner.catch_up()
                else:
                    driver.run(command)
            runner.catch_up()
            for kind, count in sorted(driver.accepted.items()):
                hypothesis_event(f"accepted {kind}", count)
            head = ledger.recorder.max_notification_id()
            assert {s.name: s.position for s in runner.states() if s.live} == {
                "coverage": head,
                "participant_status": head,
                "coverage_flows": head,
                "coverage_log": head,
            }

            # (b) the independent count from the events
            events = [e for _, e in log_events(ledger)]
            if any(isinstance(e, Participant.ContributionsResettled) for e in events):
                hypothesis_event("late payments moved recorded months")
            assert_views_match(views, Expected(events))

            # (a) a rebuild, in other page sizes, equals the live tables row for row
            before = snapshot(views)
            system.new_runner(page_size=5).rebuild()
            assert snapshot(views) == before
            with other_view_store(settings, Path(settings.var_dir)) as other:
                system.new_runner(views=other, page_size=11).catch_up()
                assert compare(views, other, all_projections()) == []

    check()


def status_row(store: ViewStore, pid: UUID) -> dict[str, Any]:
    with store.transaction() as tx:
        g = live_generation(tx, "participant_status")
        found = tx.query(
            f"SELECT programmes, programmes_from, declared_income "
            f"FROM participant_status_g{g} WHERE participant_id = ?",
            (str(pid),),
        )
    assert len(found) == 1
    return dict(zip(("programmes", "programmes_from", "declared_income"), found[0], strict=True))


def test_the_status_row_follows_the_programme_timeline_not_the_event_order(
    ledger: Ledger, system: System
) -> None:
    """JHT from June, then (the next day) plain JKK+JKM from April: the participant is in
    JHT from June on (the domain sorts the timeline by month), and the row must say so."""
    pid = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2025-01-06", programmes="JKK+JKM")))
    ledger.change_programmes(
        parse(
            ChangeProgrammes,
            participant_id=pid,
            programmes="JKK+JKM+JHT",
            from_month="2025-06",
            changed_on="2025-01-07",
        )
    )
    ledger.change_programmes(
        parse(
            ChangeProgrammes,
            participant_id=pid,
            programmes="JKK+JKM",
            from_month="2025-04",
            changed_on="2025-01-08",
        )
    )
    assert ledger.get_status(pid, as_of="2025-07-01").programmes == ("JKK", "JKM", "JHT")
    system.runner.catch_up()
    assert status_row(system.views, pid)["programmes"] == "JKK+JKM+JHT"
    assert status_row(system.views, pid)["programmes_from"] == Period.parse("2025-06").index


def test_the_status_row_follows_the_income_timeline_not_the_event_order(
    ledger: Ledger, system: System
) -> None:
    """Rp 3m from June, then Rp 2m from April: from June on the income is Rp 3m."""
    pid = ledger.enroll(
        parse(Enroll, enrollment(enrolled_on="2025-01-06", declared_income=1_500_000))
    )
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=pid,
            declared_income=3_000_000,
            from_month="2025-06",
            declared_on="2025-01-07",
        )
    )
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=pid,
            declared_income=2_000_000,
            from_month="2025-04",
            declared_on="2025-01-08",
        )
    )
    assert ledger.get_status(pid, as_of="2025-07-01").declared_income == 3_000_000
    system.runner.catch_up()
    assert status_row(system.views, pid)["declared_income"] == 3_000_000


# --- 2. SIGKILL mid catch-up --------------------------------------------------------------

RUNNER_SCRIPT = """
from infra.bootstrap import build_system
from infra.settings import Settings

with build_system(Settings()) as system:
    system.new_runner(page_size=50).catch_up()
"""


class Poller:
    """Reads the live positions without taking a write lock (SQLiteViewStore's transactions
    are BEGIN IMMEDIATE, and a poller competing for the lock would starve)."""

    def __init__(self, settings: Settings) -> None:
        db = parse_database_url(settings.database_url)
        if db.kind == "sqlite":
            assert db.path is not None
            with build_system(settings) as system:
                system.views  # noqa: B018 - opening it creates the file and its bookkeeping table
            self.conn: Any = sqlite3.connect(
                db.path.with_name(db.path.stem + "-views.db"), isolation_level=None, timeout=60
            )
        else:
            import psycopg

            self.conn = psycopg.connect(
                db.conninfo, autocommit=True, options=f"-c search_path={db.schema}"
            )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS projections ("
                " name TEXT NOT NULL, generation INTEGER NOT NULL,"
                " position BIGINT NOT NULL, live INTEGER NOT NULL,"
                " updated_at TEXT NOT NULL, PRIMARY KEY (name, generation))"
            )

    def position(self) -> int:
        row = self.conn.execute(
            "SELECT min(position), count(*) FROM projections WHERE live = 1"
        ).fetchone()
        return int(row[0]) if row and row[1] == len(all_projections()) else 0

    def close(self) -> None:
        self.conn.close()


def test_a_runner_killed_mid_catch_up_resumes_without_loss_or_double_counting(
    ledger: Ledger, system: System, settings: Settings, tmp_path: Path
) -> None:
    seed_population(ledger, participants=600, months=24, seed=5, end=SEED_END)
    head = ledger.recorder.max_notification_id()
    assert head is not None and head > 10_000
    script = tmp_path / "run_projections.py"
    script.write_text(RUNNER_SCRIPT)
    env = cli_env(settings, tmp_path)
    rng = random.Random(20251126)
    poller = Poller(settings)
    kills: list[tuple[int, int]] = []  # (position seen before the kill, position after)
    last = 0
    try:
        for _ in range(12):
            if len(kills) >= 4:
                break
            process = subprocess.Popen(
                [sys.executable, str(script)],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 120
            seen = last
            while seen <= last:  # wait for this run to commit at least one page
                if process.poll() is not None:
                    break
                assert time.monotonic() < deadline, "the runner made no progress"
                time.sleep(0.002)
                seen = poller.position()
            time.sleep(rng.uniform(0, 0.03))  # then kill it at a random moment
            running = process.poll() is None
            process.send_signal(signal.SIGKILL)
            _, stderr = process.communicate(timeout=60)
            if not running:
                assert process.returncode == 0, stderr.decode(errors="replace")
            after = poller.position()
            assert after >= seen, "a committed page was lost"
            assert after > last, f"no progress kept between kills: {last} -> {after}"
            last = after
            if running and after < head:
                kills.append((seen, after))
            if after == head:
                break
        assert len(kills) >= 3, f"only {len(kills)} kills landed mid catch-up: {kills}"
        positions = [after for _, after in kills]
        assert positions == sorted(set(positions)), positions
        assert all(0 < p < head for p in positions)

        done = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert poller.position() == head
    finally:
        poller.close()

    views = system.views
    with other_view_store(settings, tmp_path) as clean:
        system.new_runner(views=clean, page_size=1000).catch_up()
        assert compare(views, clean, all_projections()) == []
    assert_views_match(views, Expected(e for _, e in log_events(ledger)))


# --- 3. levels add up ------------------------------------------------------------------------


def test_coverage_adds_up_from_villages_to_the_nation(ledger: Ledger, system: System) -> None:
    for seed in (11, 12, 13):  # a few campaigns, each in a few villages of one district
        seed_population(ledger, participants=200, months=12, seed=seed, end=SEED_END)
    # and villages sharing a district, districts sharing a regency, regencies a province
    for i, village in enumerate(VILLAGES * 2):
        jht = i % 3 == 0
        pid = ledger.enroll(
            parse(
                Enroll,
                enrollment(
                    enrolled_on="2024-12-02",
                    village_code=village,
                    programmes="JKK+JKM+JHT" if jht else "JKK+JKM",
                ),
            )
        )
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=f"L-{i}",
                participant_id=str(pid),
                amount=(1 + i % 7) * (15_000 * (3 if jht else 1) + 6_800),
                paid_on="2024-12-05",
                channel="bank",
            )
        )
    views = system.views
    system.runner.catch_up()
    expected = Expected(e for _, e in log_events(ledger))
    checked = 0
    for month in ("2024-12", "2025-01", "2025-04", "2025-06"):
        period = Period.parse(month)
        answers = {level: coverage(views, period=period, level=level) for level, _ in LEVELS}
        for (finer, _), (coarser, width) in itertools.pairwise(LEVELS):
            sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for row in answers[finer]["rows"]:
                target = sums[row["region"][:width]]
                target["active"] += row["active"]
                for p in PROGRAMMES:
                    target[p] += row["by_programme"][p]
                for column in ACTIVITY:
                    target[column] += row[column]
            rolled = {code: dict(v) for code, v in sums.items()}
            direct = {
                row["region"]: {
                    "active": row["active"],
                    **row["by_programme"],
                    **{c: row[c] for c in ACTIVITY},
                }
                for row in answers[coarser]["rows"]
            }
            assert rolled == direct, f"{month}: {finer} rows do not add up to {coarser}"
        nation = answers["nation"]
        assert len(nation["rows"]) == 1
        total = dict(nation["total"])
        assert total == expected.nation(period.index), month
        assert total["active"] > 0 and total["contributions"] > 0
        checked += 1
    assert checked == 4


# --- 4. replays to a recorded time or a position --------------------------------------------


def test_replay_as_of_a_time_and_to_a_position(
    ledger: Ledger, system: System, settings: Settings, tmp_path: Path
) -> None:
    refs = iter(range(1, 100))

    def pay(pid: UUID, amount: int, paid_on: str) -> None:
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=f"R-{next(refs)}",
                participant_id=str(pid),
                amount=amount,
                paid_on=paid_on,
                channel="bank",
            )
        )

    m15 = 15_000 + 6_800  # JKK + JKM at Rp 1.5m
    a = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2025-01-06", village_code=VILLAGES[0])))
    b = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2025-01-06", village_code=VILLAGES[3])))
    c = ledger.enroll(
        parse(
            Enroll,
            enrollment(
                enrolled_on="2025-01-07", village_code=VILLAGES[4], channel="online", agent_id=None
            ),
        )
    )
    pay(a, 2 * m15, "2025-01-08")  # Jan-Feb
    pay(b, 3 * m15, "2025-01-09")  # Jan-Mar
    pay(c, 6 * m15, "2025-01-10")  # Jan-Jun
    time.sleep(0.02)
    moment = datetime.now(UTC)
    time.sleep(0.02)
    pay(a, 3 * m15, "2025-05-10")  # arrears: Mar, Apr and May, paid in grace
    until = ledger.recorder.max_notification_id()
    assert until is not None
    ledger.record_death(
        parse(RecordDeath, participant_id=c, died_on="2025-03-15")
    )  # Apr-Jun no longer count
    ledger.correct_details(
        parse(CorrectDetails, participant_id=b, village_code=VILLAGES[2], corrected_on="2025-05-20")
    )

    events = log_events(ledger)
    at_moment = Expected(e for _, e in events if e.timestamp <= moment)
    at_until = Expected(e for p, e in events if p <= until)
    at_head = Expected(e for _, e in events)
    march = Period.parse("2025-03").index
    assert at_moment.nation(march)["active"] == 2  # b and c
    assert at_head.nation(march)["active"] == 3  # a's arrears restored March
    assert at_head.nation(march + 1)["active"] == 1  # a alone: c died in March

    # Scratch stores built directly on purpose: replay() itself is what is tested here.
    with tempfile.TemporaryDirectory() as folder:
        scratch = SQLiteViewStore(Path(folder) / "as-of.db")
        try:
            position = replay(
                ledger.recorder,
                ledger.mapper,
                scratch,
                all_projections(),
                as_of=moment,
                page_size=3,
            )
            assert position == max(p for p, e in events if e.timestamp <= moment)
            assert_views_match(scratch, at_moment)
            monthly, _, _ = actual_views(scratch)
            assert monthly != at_head.monthly, "the as-of replay must differ from the head"
        finally:
            scratch.close()
        scratch = SQLiteViewStore(Path(folder) / "until.db")
        try:
            assert (
                replay(
                    ledger.recorder,
                    ledger.mapper,
                    scratch,
                    all_projections(),
                    until_position=until,
                    page_size=4,
                )
                == until
            )
            assert_views_match(scratch, at_until)
        finally:
            scratch.close()

    # the command line: a replay as of the moment, then comparisons with the live tables
    result = run_cli(
        settings,
        tmp_path,
        "replay",
        "--recorded-at",
        moment.isoformat(),
        "--period",
        "2025-03",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    assert body["active"] == 2
    assert body["by_programme"] == at_moment.nation(march)["by_programme"]
    assert body["position"] == max(p for p, e in events if e.timestamp <= moment)
    # the same count as recorded then, from the read models without a replay
    result = run_cli(
        settings,
        tmp_path,
        "coverage",
        "--recorded-at",
        moment.isoformat(),
        "--period",
        "2025-03",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    counted = orjson.loads(result.stdout)
    assert (counted["total"]["active"], counted["total"]["by_programme"]) == (
        2,
        body["by_programme"],
    )
    assert (counted["recorded_at"], counted["as_of"]) == (moment.isoformat(), None)

    result = run_cli(settings, tmp_path, "replay", "--compare", "--period", "2025-03", "--json")
    assert result.returncode == 0, result.stderr + result.stdout
    body = orjson.loads(result.stdout)
    assert body["differences"] == [] and body["active"] == 3

    views = system.views
    with views.transaction() as tx:
        g = live_generation(tx, "coverage")
        assert (
            tx.execute(
                f"UPDATE coverage_monthly_g{g} SET active = active + 1 WHERE month = ?", (march,)
            )
            >= 1
        )
    result = run_cli(settings, tmp_path, "replay", "--compare", "--period", "2025-03")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "coverage_monthly" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


# --- 5. a rebuild swaps at once -----------------------------------------------------------


def read_totals(store: ViewStore) -> tuple[Any, ...]:
    """One consistent read: the live position and whole-table totals of both projections."""
    with store.transaction() as tx:
        g = live_generation(tx, "coverage")
        s = live_generation(tx, "participant_status")
        position = tx.query("SELECT position FROM projections WHERE name = 'coverage' AND live = 1")
        monthly = tx.query(
            f"SELECT count(*), sum(active), sum(jkk), sum(jkm), sum(jht) FROM coverage_monthly_g{g}"
        )
        activity = tx.query(
            f"SELECT count(*), {', '.join(f'sum({c})' for c in ACTIVITY)} "
            f"FROM coverage_activity_g{g}"
        )
        status = tx.query(
            f"SELECT count(*), sum(months_paid), sum(total_contributions) "
            f"FROM participant_status_g{s}"
        )
    return tuple(int(v or 0) for v in (position[0] + monthly[0] + activity[0] + status[0]))


class ReadLoop:
    """Reads in a loop until told to stop: the project's coverage query, then the whole-table
    totals; failures are kept, not raised."""

    def __init__(self, reader: ViewStore, period: Period) -> None:
        self.reader = reader
        self.period = period
        self.finished = threading.Event()
        self.seen: list[tuple[Any, ...]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.errors: list[tuple[str, BaseException]] = []

    def run(self) -> None:
        while not self.finished.is_set():
            try:
                answer = coverage(self.reader, period=self.period)  # the project's own query
                self.answers.append((answer["position"], answer["total"]))
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(("projections.queries.coverage", error))
            try:
                self.seen.append(read_totals(self.reader))
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(("read_totals", error))
            time.sleep(0.0005)


def test_a_rebuild_is_swapped_in_at_once(
    ledger: Ledger, system: System, settings: Settings
) -> None:
    """Readers on their own connection, in a loop, while rebuilds run: every answer is the
    old generation's or the new one's, never an error or a mix; the old tables go."""
    seed_population(ledger, participants=600, months=24, seed=7, end=SEED_END)
    head = ledger.recorder.max_notification_id()
    assert head is not None
    period = Period.parse("2025-03")
    views = system.views
    another = build_system(settings)  # its own view store connection, as another process's
    reader = another.views
    try:
        runner = system.new_runner(page_size=100)
        runner.catch_up(until=head * 2 // 3)  # the first rebuild's old generation lags
        for round_ in range(1, 5):
            old = read_totals(reader)
            old_answer = coverage(reader, period=period)
            loop = ReadLoop(reader, period)
            thread = threading.Thread(target=loop.run)
            thread.start()
            try:
                generations = runner.rebuild()
            finally:
                loop.finished.set()
                thread.join(timeout=60)
            seen, answers, errors = loop.seen, loop.answers, loop.errors
            kinds = sorted(
                {
                    f"{where}: {type(error).__name__}: {str(error).splitlines()[0]}"
                    for where, error in errors
                }
            )
            assert errors == [], (
                f"rebuild {round_}: {len(errors)} of {len(seen) + len(answers) + len(errors)} "
                f"reads failed during the swap: {kinds}"
            )
            new = read_totals(reader)
            new_answer = coverage(reader, period=period)
            assert new[0] == head
            if round_ == 1:
                assert old[0] == head * 2 // 3
                assert new != old and new_answer["total"] != old_answer["total"]
            else:
                assert new == old and new_answer == old_answer, "a rebuild changed the views"
            assert set(seen) <= {old, new}, "a reader saw a partial rebuild"
            both = {
                (old_answer["position"], orjson.dumps(old_answer["total"])),
                (new_answer["position"], orjson.dumps(new_answer["total"])),
            }
            assert {(p, orjson.dumps(t)) for p, t in answers} <= both
            assert seen.count(old) >= 3, "the reads did not overlap the rebuild"

            assert generations == {
                "participant_status": round_ + 1,
                "coverage": round_ + 1,
                "coverage_flows": round_ + 1,
                "coverage_log": round_ + 1,
            }
            states = runner.states()
            assert {(s.name, s.generation) for s in states} == set(generations.items())
            assert all(s.live and s.position == head for s in states)
            assert sorted(views.query("SELECT name, generation FROM projections")) == sorted(
                generations.items()
            )
            assert generation_tables(views) == {round_ + 1}, "old tables must be dropped"
        assert_views_match(views, Expected(e for _, e in log_events(ledger)))
    finally:
        another.close()


def generation_tables(store: ViewStore) -> set[int]:
    """The generations that have tables in the store."""
    if store.dialect == "sqlite":
        names = [r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        names = [
            r[0]
            for r in store.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                (store.schema,),  # type: ignore[attr-defined]
            )
        ]
    return {int(n.rsplit("_g", 1)[1]) for n in names if "_g" in n and n != "projections"}


# --- 5b. a rebuild split across worker processes ------------------------------------------


def split_runner(system: System, workers: int) -> ProjectionRunner:
    runner = system.new_runner(page_size=150, workers=workers, split_from=0)
    assert runner.spawn is not None and runner.workers == workers
    return runner


def moves_and_a_death(ledger: Ledger, moves: int) -> list[UUID]:
    """`moves` participants moved to another village and the next one dead, late in the
    log, so that shares of a build also take cells away from villages; the first 40 ids."""
    pids = ledger.participant_ids(limit=40)
    for pid in pids[:moves]:
        ledger.correct_details(
            parse(
                CorrectDetails,
                participant_id=pid,
                village_code=OTHER_VILLAGE,
                corrected_on="2025-06-01",
            )
        )
    ledger.record_death(parse(RecordDeath, participant_id=pids[moves], died_on="2025-02-03"))
    return pids


@pytest.mark.parametrize("workers", [2, 3])
def test_a_rebuild_split_across_processes_equals_one_in_a_single_process(
    ledger: Ledger, system: System, settings: Settings, workers: int
) -> None:
    """Each worker decodes and applies only its share of the participants into the same
    new generation; the sums they add into must come out as a single process makes them."""
    seed_population(ledger, participants=400, months=24, seed=11, end=SEED_END)
    pids = moves_and_a_death(ledger, moves=3)
    head = ledger.recorder.max_notification_id()
    views = system.views
    system.new_runner(page_size=150).rebuild()  # one process
    single = snapshot(views)
    shares: list[int] = []
    runner = split_runner(system, workers)
    generations = runner.rebuild(progress=lambda done, total: shares.append(done))
    assert snapshot(views) == single
    assert_views_match(views, Expected(e for _, e in log_events(ledger)))
    assert all(s.live and s.position == head for s in runner.states())
    assert generation_tables(views) == set(generations.values())
    assert shares and shares == sorted(shares) and shares[-1] == head
    system.runner.catch_up()  # the live runner goes on from the swap
    assert snapshot(views) == single

    # read models that have nothing yet catch up the same way, then follow the log
    forget_read_models(views)
    fresh = split_runner(system, workers)
    assert fresh.position() == 0
    assert fresh.catch_up() > 0
    assert snapshot(views) == single
    assert {s.generation for s in fresh.states()} == {2}  # built beside 1, swapped in
    ledger.record_death(parse(RecordDeath, participant_id=pids[4], died_on="2025-03-01"))
    assert fresh.catch_up() == 1 and fresh.position() == head + 1
    # workers build their own view store from the settings: never for a store elsewhere
    with other_view_store(settings, Path(settings.var_dir)) as other:
        assert system.new_runner(views=other, workers=2).spawn is None


def forget_read_models(views: ViewStore) -> None:
    """Drop every generation's tables and the projections' positions: read models that
    have nothing yet."""
    built = generation_tables(views)
    with views.transaction() as tx:
        for generation in built:
            for projection in all_projections():
                for table in projection.tables:
                    tx.execute(f"DROP TABLE {table}_g{generation}")
        tx.execute("DELETE FROM projections")


def test_a_catch_up_from_nothing_builds_in_bulk_from_one_size_and_splits_from_another(
    ledger: Ledger, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read models that have nothing yet, behind a log of `bulk_from` positions, are built
    as a rebuild builds them (folded in bulk beside generation 1, then swapped in); the
    build goes to worker processes only from `split_from` (starting them costs seconds,
    more than a split saves on a small log)."""
    seed_population(ledger, participants=60, months=12, seed=17, end=SEED_END)
    head = ledger.recorder.max_notification_id() or 0
    views = system.views
    system.new_runner(page_size=150).rebuild()
    single = snapshot(views)
    splits: list[int] = []
    monkeypatch.setattr(
        runner_module, "fill_split", lambda spawn, count, *rest: splits.append(count)
    )
    shares = count_shares(monkeypatch)
    for bulk_from, built_in_bulk in ((head + 1, False), (head, True)):
        forget_read_models(views)
        runner = system.new_runner(page_size=150, workers=2, split_from=head + 1)
        runner.bulk_from = bulk_from
        assert runner.catch_up() > 0 and runner.position() == head
        assert snapshot(views) == single
        assert bool(shares) == built_in_bulk
        assert {s.generation for s in runner.states()} == ({2} if built_in_bulk else {1})
        shares.clear()
    assert splits == []
    forget_read_models(views)
    system.new_runner(page_size=150, workers=2, split_from=head).catch_up()
    assert splits == [2] and shares == []  # the workers fold it, not this process


def count_shares(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of shares each bulk build from now on folds in, as it splits the ids."""
    counted: list[int] = []
    split_ids = bulk.id_ranges

    def ranges(count: int, partition: Any = None) -> list[tuple[str | None, str | None]]:
        counted.append(count)
        return split_ids(count, partition)

    monkeypatch.setattr(bulk, "id_ranges", ranges)
    return counted


def test_a_rebuild_folded_in_many_shares_equals_one_folded_at_once(
    ledger: Ledger, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk build folds one share of the participants at a time (its memory bound, as
    at a million participants): the sums each share adds, and the moves and deaths that
    take cells away from villages, come out as one share makes them."""
    seed_population(ledger, participants=200, months=12, seed=13, end=SEED_END)
    moves_and_a_death(ledger, moves=2)
    head = ledger.recorder.max_notification_id() or 0
    views = system.views
    system.new_runner().rebuild()  # the default budget: one share at this size
    single = snapshot(views)
    counted = count_shares(monkeypatch)
    system.new_runner(share_positions=head // 6).rebuild()
    assert counted == [7]
    assert snapshot(views) == single
    assert_views_match(views, Expected(e for _, e in log_events(ledger)))


def test_a_rebuild_writing_rows_between_pages_equals_one_writing_them_at_the_end(
    ledger: Ledger, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows per event (coverage_log's deltas) are written every `FLUSH_POSITIONS`
    positions rather than held to the share's end: the tables come out the same."""
    seed_population(ledger, participants=200, months=12, seed=17, end=SEED_END)
    moves_and_a_death(ledger, moves=2)
    views = system.views
    system.new_runner().rebuild()  # at this size, every row written at the end
    single = snapshot(views)
    flushed: list[int] = []
    flush = CoverageLogProjection.bulk_flush

    def counted(self: Any, tx: Any, names: Any, state: Any) -> None:
        flushed.append(len(state.activity) + len(state.monthly))
        flush(self, tx, names, state)

    monkeypatch.setattr(CoverageLogProjection, "bulk_flush", counted)
    monkeypatch.setattr(bulk, "FLUSH_POSITIONS", 250)
    system.new_runner(page_size=100).rebuild()
    assert len(flushed) > 5 and all(flushed)  # between pages, each with rows, and at the end
    assert snapshot(views) == single
    assert_views_match(views, Expected(e for _, e in log_events(ledger)))


def test_a_replay_folds_within_the_rebuild_memory_setting(
    system: System, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ledger replay` folds in shares as a rebuild does, within `LEDGER_REBUILD_MEMORY_MB`
    (not a default of its own), and still equals the live tables."""
    seed_population(system.ledger, participants=200, months=12, seed=19, end=SEED_END)
    head = system.head()
    counted = count_shares(monkeypatch)
    with build_system(settings.model_copy(update={"rebuild_memory_mb": 1})) as small:
        answer = replay_service(small, compare=True)
    assert counted == [bulk.shares_for(head, bulk.positions_per_share(1))] and counted[0] > 1
    assert (answer.equal, answer.position) == (True, head)


def test_a_split_rebuild_that_fails_keeps_the_live_generation(
    ledger: Ledger, system: System, settings: Settings
) -> None:
    """A worker that fails, or is killed, fails the rebuild: the other workers stop, the
    half-built generation is dropped, and the live tables are untouched."""
    seed_population(ledger, participants=150, months=12, seed=5, end=SEED_END)
    views = system.views
    system.runner.catch_up()
    before = snapshot(views)
    live = generation_tables(views)

    # a worker whose runner lacks the projection it is asked to fill
    runner = split_runner(system, 2)
    runner.spawn = dataclasses.replace(runner.spawn, projections=("coverage",))  # type: ignore[type-var]
    with pytest.raises(RebuildError, match="failed: KeyError"):
        runner.rebuild()
    assert snapshot(views) == before and generation_tables(views) == live

    # a worker killed mid-way (SIGKILL from the first progress report)
    runner = split_runner(system, 2)
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        children = [c for c in multiprocessing.active_children() if c.pid]
        if not killed and children:
            killed.append(children[0].pid or 0)
            os.kill(killed[0], signal.SIGKILL)

    with pytest.raises(RebuildError, match="died"):
        runner.rebuild(progress=kill_one)
    assert killed and snapshot(views) == before and generation_tables(views) == live
    assert not multiprocessing.active_children(), "the other worker was left running"
    assert {(s.name, s.live) for s in runner.states()} == {
        (p.name, True) for p in all_projections()
    }


# --- 6. the coverage command --------------------------------------------------------------


def test_the_coverage_command_catches_up_and_answers_in_json_and_csv(
    ledger: Ledger, settings: Settings, tmp_path: Path
) -> None:
    m15 = 15_000 + 6_800
    for i, village in enumerate(VILLAGES):
        pid = ledger.enroll(
            parse(Enroll, enrollment(enrolled_on="2025-01-06", village_code=village))
        )
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=f"C-{i}",
                participant_id=str(pid),
                amount=(i + 1) * m15,
                paid_on="2025-01-08",
                channel="bank",
            )
        )
    head = ledger.recorder.max_notification_id()

    result = run_cli(settings, tmp_path, "coverage", "--period", "2025-02", "--json")
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    assert {"position", "period", "level", "rows"} <= set(body)
    assert body["position"] == head  # the embedded default catches up first
    assert body["period"] == "2025-02" and body["level"] == "nation"
    assert len(body["rows"]) == 1
    row = body["rows"][0]
    assert {"region", "name", "active", "by_programme"} <= set(row)
    assert row["active"] == 4  # every one but the first paid February
    assert row["by_programme"] == {"JKK": 4, "JKM": 4, "JHT": 0}

    result = run_cli(
        settings, tmp_path, "coverage", "--period", "2025-01", "--level", "province", "--json"
    )
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    assert [(r["region"], r["active"]) for r in body["rows"]] == [("12", 4), ("32", 1)]
    assert all(r["name"] for r in body["rows"])

    result = run_cli(
        settings, tmp_path, "coverage", "--period", "2025-01", "--level", "district", "--csv", "-"
    )
    assert result.returncode == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header[:5] == ["period", "level", "region", "name", "active"]
    assert header[-1] == "position"
    assert [r[2] for r in rows] == sorted({v[:8] for v in VILLAGES})  # one row per district
    assert all(r[0] == "2025-01" and r[1] == "district" and r[-1] == str(head) for r in rows)
    assert sum(int(r[4]) for r in rows) == 5


# --- following the log ---------------------------------------------------------------------


def test_projections_run_follows_new_events_as_they_are_recorded(
    ledger: Ledger, system: System, settings: Settings, tmp_path: Path
) -> None:
    """`ledger projections run` catches up, then keeps following: events recorded while it
    runs reach the read models without another command."""
    first = enrollment(enrolled_on="2025-01-06")
    ledger.enroll(parse(Enroll, first))
    follower = subprocess.Popen(
        [LEDGER, "projections", "run", "--poll", "0.05"],
        env=cli_env(settings, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = system.views
    try:
        runner = system.runner  # only to read positions; it does not run

        def wait_for(position: int) -> None:
            deadline = time.monotonic() + 60
            while runner.position() < position:
                assert follower.poll() is None, follower.communicate()
                assert time.monotonic() < deadline, f"stuck at {runner.position()} < {position}"
                time.sleep(0.05)

        wait_for(ledger.recorder.max_notification_id() or 0)
        second = enrollment(enrolled_on="2025-01-07", village_code=OTHER_VILLAGE)
        ledger.enroll(parse(Enroll, second))
        ledger.record_contribution(
            parse(
                RecordContribution,
                nik=second["nik"],
                payment_ref="FOLLOW-1",
                amount=MONTHLY_JKK_JKM_1_5M,
                paid_on="2025-01-08",
                channel="bank",
            )
        )
        wait_for(ledger.recorder.max_notification_id() or 0)

        january = coverage(
            store, period=Period.parse("2025-01"), level="village", region=OTHER_VILLAGE
        )
        assert [(r["region"], r["active"], r["enrollments"]) for r in january["rows"]] == [
            (OTHER_VILLAGE, 1, 1)
        ]
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            follower.wait(timeout=30)
        finally:
            if follower.poll() is None:
                follower.kill()
    assert "Traceback" not in (follower.stderr.read() if follower.stderr else "")


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_projections_run_stops_cleanly_on_sigterm_and_on_ctrl_c_even_as_a_background_job(
    ledger: Ledger, system: System, settings: Settings, tmp_path: Path, stop_with: int
) -> None:
    """A service manager stops `ledger projections run` with SIGTERM; a shell's background
    job starts with SIGINT ignored. Either way the follower finishes its page, says where
    it stopped and exits 0."""
    ledger.enroll(parse(Enroll, enrollment(enrolled_on="2025-01-06")))
    follower = subprocess.Popen(
        [LEDGER, "projections", "run", "--poll", "0.05"],
        env=cli_env(settings, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as `cmd &` in a non-interactive shell: SIGINT ignored from the start
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 60
        head = ledger.recorder.max_notification_id() or 0
        while system.runner.position() < head:
            assert follower.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        follower.send_signal(stop_with)
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
    stderr = follower.stderr.read() if follower.stderr else ""
    assert f"stopped at position {head:,}" in stderr and "Traceback" not in stderr
