"""`participant_status`: one row per participant, for lookups and reports.

Only what may be shown without personal data: region codes at every level, segment,
programmes, dates, money totals, claim counts and flags. A status word depends on the day
it is asked for, so rows hold the facts and `status_of(row, day, rules)` derives the word
with the domain's rule (`domain.coverage.standing`) and the ledger's rule book.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from operator import itemgetter
from typing import Any, ClassVar

from domain.coverage import standing
from domain.participant import PARTICIPANT_EVENTS, Participant
from domain.rules import RuleBook
from domain.values import Period, Programme
from projections.projection import Event, Projection, keys_of
from projections.store import Tx

COLUMNS = (
    "participant_id",
    "village",
    "district",
    "regency",
    "province",
    "segment",
    "sex",
    "occupation",
    "programmes",
    "programmes_from",
    "declared_income",
    "income_from",
    "enrolled_on",
    "channel",
    "agent_id",
    "paid_through",
    "last_paid_on",
    "months_paid",
    "contributions",
    "total_contributions",
    "jht_paid_in",
    "claims_filed",
    "open_claims",
    "benefits_paid",
    "jht_paid_out",
    "died_on",
    "withdrawn_on",
    "erased_on",
    "version",
)
_KEY = COLUMNS[0]
_ROW_VALUES = itemgetter(*COLUMNS)

DDL = """CREATE TABLE {table} (
    participant_id TEXT NOT NULL PRIMARY KEY,
    village TEXT NOT NULL, district TEXT NOT NULL, regency TEXT NOT NULL, province TEXT NOT NULL,
    segment TEXT NOT NULL, sex TEXT NOT NULL, occupation TEXT NOT NULL,
    programmes TEXT NOT NULL, programmes_from INTEGER NOT NULL, declared_income BIGINT NOT NULL,
    income_from INTEGER NOT NULL,
    enrolled_on TEXT NOT NULL, channel TEXT NOT NULL, agent_id TEXT NOT NULL,
    paid_through INTEGER, last_paid_on TEXT, months_paid INTEGER NOT NULL,
    contributions INTEGER NOT NULL, total_contributions BIGINT NOT NULL,
    jht_paid_in BIGINT NOT NULL, claims_filed INTEGER NOT NULL, open_claims INTEGER NOT NULL,
    benefits_paid BIGINT NOT NULL, jht_paid_out BIGINT NOT NULL,
    died_on TEXT, withdrawn_on TEXT, erased_on TEXT, version INTEGER NOT NULL
) {without_rowid}"""

TYPES = (
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "integer",
    "bigint",
    "integer",
    "text",
    "text",
    "text",
    "integer",
    "text",
    "integer",
    "integer",
    "bigint",
    "bigint",
    "integer",
    "integer",
    "bigint",
    "bigint",
    "text",
    "text",
    "text",
    "integer",
)
_ON_CONFLICT = f"ON CONFLICT ({_KEY}) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in COLUMNS[1:]
)


class ParticipantStatusProjection(Projection):
    name = "participant_status"
    handles = PARTICIPANT_EVENTS  # every one: the row is the participant's whole record
    tables: ClassVar[dict[str, str]] = {"participant_status": DDL}
    partitionable: ClassVar[bool] = True  # one row per participant, nothing shared

    def key_columns(self, table: str) -> str:
        return _KEY

    def process(self, tx: Tx, names: dict[str, str], events: Sequence[Event]) -> None:
        table = names["participant_status"]
        pids = keys_of(events)
        ids = list(dict.fromkeys(pids))
        rows = load_rows(tx, table, ids)
        fold(rows, pids, events)
        tx.insert_rows(table, COLUMNS, TYPES, [_ROW_VALUES(rows[pid]) for pid in ids], _ON_CONFLICT)

    bulk: ClassVar[bool] = True

    def bulk_state(self) -> dict[str, dict[str, Any]]:
        return {}

    def bulk_fold(
        self,
        state: dict[str, dict[str, Any]],
        keys: Sequence[str],
        events: Sequence[Event],
        positions: Sequence[int],
    ) -> None:
        fold(state, keys, events)

    def bulk_write(self, tx: Tx, names: dict[str, str], state: dict[str, dict[str, Any]]) -> None:
        tx.insert_rows(
            names["participant_status"],
            COLUMNS,
            TYPES,
            [_ROW_VALUES(state[pid]) for pid in sorted(state)],
        )


def fold(rows: dict[str, dict[str, Any]], pids: Sequence[str], events: Sequence[Event]) -> None:
    """Apply events (`pids[i]` the participant of `events[i]`) to the rows they change."""
    for pid, event in zip(pids, events, strict=True):
        if isinstance(event, Participant.Enrolled):
            rows[pid] = row = enrolled_row(event, pid)
        else:
            row = rows[pid]
            apply(row, event)
        row["version"] = event.originator_version


def load_rows(tx: Tx, table: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    found = tx.query_in(f"SELECT {', '.join(COLUMNS)} FROM {table}", "participant_id", ids)
    return {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in found}


def enrolled_row(e: Participant.Enrolled, participant_id: str | None = None) -> dict[str, Any]:
    village = e.village
    month = Period.index_of(e.enrolled_on)
    return {
        "participant_id": participant_id or str(e.originator_id),
        "village": village,
        "district": village[:8],
        "regency": village[:5],
        "province": village[:2],
        "segment": e.segment,
        "sex": e.sex,
        "occupation": e.occupation,
        "programmes": "+".join(e.programmes),
        "programmes_from": month,
        "declared_income": e.declared_income,
        "income_from": month,
        "enrolled_on": e.enrolled_on.isoformat(),
        "channel": e.channel,
        "agent_id": e.agent_id or "",
        "paid_through": None,
        "last_paid_on": None,
        "months_paid": 0,
        "contributions": 0,
        "total_contributions": 0,
        "jht_paid_in": 0,
        "claims_filed": 0,
        "open_claims": 0,
        "benefits_paid": 0,
        "jht_paid_out": 0,
        "died_on": None,
        "withdrawn_on": None,
        "erased_on": None,
        "version": 1,
    }


def apply(row: dict[str, Any], e: Event) -> None:
    if isinstance(e, Participant.ContributionPaid):
        last = e.first_month.index + e.months - 1
        row["paid_through"] = max(row["paid_through"] or last, last)
        # A payment may arrive after later-dated ones: the row keeps the latest date.
        row["last_paid_on"] = max(row["last_paid_on"] or "", e.paid_on.isoformat())
        row["months_paid"] += e.months
        row["contributions"] += 1
        row["total_contributions"] += e.amount
        row["jht_paid_in"] += e.by_programme.get(Programme.JHT, 0)
    elif isinstance(e, Participant.ContributionsResettled):
        row["paid_through"] = e.paid_through.index if e.paid_through is not None else None
        for move in e.moves:
            row["months_paid"] += move["months"] - move["was_months"]
            row["jht_paid_in"] += (
                move["by_programme"].get(Programme.JHT, 0) - move["was_jht_amount"]
            )
    # Declarations take effect from a month, and may be recorded out of that order: the
    # row shows the one that starts latest (the domain's timeline, not the event order).
    elif isinstance(e, Participant.IncomeDeclared):
        if e.from_month.index >= row["income_from"]:
            row["declared_income"] = e.declared_income
            row["income_from"] = e.from_month.index
    elif isinstance(e, Participant.ProgrammesChanged):
        if e.from_month.index >= row["programmes_from"]:
            row["programmes"] = "+".join(e.programmes)
            row["programmes_from"] = e.from_month.index
    elif isinstance(e, Participant.DetailsCorrected):
        if e.village is not None:
            row.update(
                village=e.village,
                district=e.village[:8],
                regency=e.village[:5],
                province=e.village[:2],
            )
        if e.occupation is not None:
            row["occupation"] = e.occupation
        if e.sex is not None:
            row["sex"] = e.sex
    elif isinstance(e, Participant.Died):
        row["died_on"] = e.died_on.isoformat()
    elif isinstance(e, Participant.Withdrew):
        row["withdrawn_on"] = e.withdrawn_on.isoformat()
    elif isinstance(e, Participant.PersonalDataErased):
        row["erased_on"] = e.erased_on.isoformat()
    elif isinstance(e, Participant.ClaimFiled):
        row["claims_filed"] += 1
        row["open_claims"] += 1
    elif isinstance(e, Participant.ClaimRejected):
        row["open_claims"] -= 1
    elif isinstance(e, Participant.ClaimPaid):
        row["open_claims"] -= 1
        row["benefits_paid"] += e.amount
        if e.programme == Programme.JHT:
            row["jht_paid_out"] += e.amount


def status_of(row: dict[str, Any], day: date, rules: RuleBook) -> tuple[str, int]:
    """(status, arrears months) on `day` for a row that reflects the log up to that day.

    Paid spans are contiguous from the last lapse on, so on such a day the month is
    covered exactly when it is not after `paid_through`, which is then the last paid
    month before it."""
    paid = row["paid_through"]
    last = None if paid is None else Period(int(paid))
    return standing(
        day,
        rules,
        covered=last is not None and Period.containing(day) <= last,
        last_paid=last,
        died_on=_day(row["died_on"]),
        withdrawn_on=_day(row["withdrawn_on"]),
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
