"""`projections.participant_status.status_of`: the status word from a row and a day.

The row holds facts only (paid-through month, death, withdrawal); the word depends on the
day it is asked for: pending, active, grace (with arrears), lapsed, deceased, withdrawn.
The last tests build rows from a participant's real events and hold `status_of` to the
domain's own `status_on` on days after the facts.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain.commands import Enroll, RecordContribution, RecordDeath, Withdraw, parse
from domain.ledger import Ledger
from domain.participant import Participant
from domain.rules import default_rule_book
from domain.values import Period
from projections.participant_status import apply, enrolled_row, status_of
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment, rule_book_with_grace

RULES = default_rule_book()


def row(
    paid_through: str | None = None, died_on: str | None = None, withdrawn_on: str | None = None
) -> dict[str, Any]:
    return {
        "paid_through": Period.parse(paid_through).index if paid_through else None,
        "died_on": died_on,
        "withdrawn_on": withdrawn_on,
    }


def test_nothing_paid_is_pending() -> None:
    assert status_of(row(), date(2025, 3, 1), RULES) == ("pending", 0)
    assert status_of(row(), date(2030, 1, 1), RULES) == ("pending", 0)


@pytest.mark.parametrize("day", [date(2025, 3, 1), date(2025, 3, 31), date(2025, 1, 15)])
def test_a_paid_month_is_active(day: date) -> None:
    assert status_of(row("2025-03"), day, RULES) == ("active", 0)


@pytest.mark.parametrize(
    ("day", "arrears"), [(date(2025, 4, 1), 1), (date(2025, 5, 20), 2), (date(2025, 6, 30), 3)]
)
def test_up_to_three_unpaid_months_are_grace_with_the_arrears(day: date, arrears: int) -> None:
    assert status_of(row("2025-03"), day, RULES) == ("grace", arrears)


def test_more_than_three_unpaid_months_is_lapsed() -> None:
    assert status_of(row("2025-03"), date(2025, 7, 1), RULES) == ("lapsed", 0)
    assert status_of(row("2025-03"), date(2027, 1, 1), RULES) == ("lapsed", 0)


def test_grace_follows_the_rules_grace_months() -> None:
    assert status_of(row("2025-03"), date(2025, 7, 1), rule_book_with_grace(4)) == ("grace", 4)
    assert status_of(row("2025-03"), date(2025, 5, 1), rule_book_with_grace(1)) == ("lapsed", 0)


def test_death_from_its_day_on() -> None:
    dead = row("2025-12", died_on="2025-03-15")
    assert status_of(dead, date(2025, 3, 14), RULES) == ("active", 0)
    assert status_of(dead, date(2025, 3, 15), RULES) == ("deceased", 0)
    assert status_of(dead, date(2026, 6, 1), RULES) == ("deceased", 0)
    assert status_of(row(died_on="2025-03-15"), date(2025, 3, 20), RULES) == ("deceased", 0)


def test_withdrawal_from_its_day_on() -> None:
    gone = row("2025-02", withdrawn_on="2025-04-10")
    assert status_of(gone, date(2025, 4, 9), RULES) == ("grace", 2)
    assert status_of(gone, date(2025, 4, 10), RULES) == ("withdrawn", 0)
    assert status_of(gone, date(2026, 1, 1), RULES) == ("withdrawn", 0)


def test_death_wins_over_an_earlier_withdrawal() -> None:
    both = row("2025-02", withdrawn_on="2025-03-01", died_on="2025-05-02")
    assert status_of(both, date(2025, 4, 1), RULES) == ("withdrawn", 0)
    assert status_of(both, date(2025, 5, 2), RULES) == ("deceased", 0)


# --- against the domain ---------------------------------------------------------------------


def projected_row(ledger: Ledger, pid: UUID) -> dict[str, Any]:
    """The participant's row built with the projection's own per-event functions."""
    events = list(ledger.events.get(pid))
    assert isinstance(events[0], Participant.Enrolled)
    built = enrolled_row(events[0])
    for event in events[1:]:
        if not isinstance(event, Participant.ClaimApproved):
            apply(built, event)
    return built


def pay(ledger: Ledger, pid: UUID, months: int, paid_on: str, ref: str) -> None:
    ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref=ref,
            participant_id=str(pid),
            amount=months * MONTHLY_JKK_JKM_1_5M,
            paid_on=paid_on,
            channel="bank",
        )
    )


DAYS = [
    date(2024, 6, 30),
    date(2024, 7, 1),
    date(2024, 8, 15),
    date(2024, 9, 30),
    date(2024, 10, 1),
    date(2025, 2, 1),
    date(2026, 6, 30),
]


def test_status_of_agrees_with_the_domain_after_the_facts(ledger: Ledger) -> None:
    pending = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2024-01-10")))
    paying = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2024-01-10")))
    pay(ledger, paying, 3, "2024-01-12", "A-1")  # Jan-Mar
    pay(ledger, paying, 3, "2024-04-02", "A-2")  # Apr-Jun
    dead = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2024-01-10")))
    pay(ledger, dead, 6, "2024-01-12", "B-1")
    ledger.record_death(parse(RecordDeath, participant_id=dead, died_on="2024-06-30"))
    gone = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2024-01-10")))
    pay(ledger, gone, 2, "2024-01-12", "C-1")
    ledger.withdraw(parse(Withdraw, participant_id=gone, withdrawn_on="2024-06-30"))
    for pid in (pending, paying, dead, gone):
        built = projected_row(ledger, pid)
        for day in DAYS:
            domain = ledger.get_status(pid, as_of=day)
            assert status_of(built, day, RULES) == (domain.status, domain.arrears_months), (
                pid,
                day,
            )
    assert [status_of(projected_row(ledger, paying), d, RULES)[0] for d in DAYS] == [
        "active",
        "grace",
        "grace",
        "grace",
        "lapsed",
        "lapsed",
        "lapsed",
    ]
