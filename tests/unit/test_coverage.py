"""Coverage through the Ledger's commands, with the clock pinned (see conftest.TODAY).

The reference participant enrols on 2024-01-10 at a declared income of Rp 1,500,000 in
JKK+JKM: Rp 15,000 + Rp 6,800 = Rp 21,800 a month.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.commands import (
    ChangeProgrammes,
    DeclareIncome,
    Enroll,
    RecordContribution,
    RecordDeath,
    Withdraw,
    parse,
)
from domain.coverage import covered_programmes
from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.rules import default_rule_book
from domain.values import Period
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment

M = MONTHLY_JKK_JKM_1_5M  # 21,800
_refs = itertools.count(1)


def enrol(ledger: Ledger, **overrides) -> UUID:
    overrides.setdefault("enrolled_on", "2024-01-10")
    return ledger.enroll(parse(Enroll, enrollment(**overrides)))


def pay(ledger: Ledger, pid: UUID, amount: int, paid_on: str | date, **extra):
    return ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref=extra.pop("payment_ref", f"ref-{next(_refs)}"),
            participant_id=str(pid),
            amount=amount,
            paid_on=paid_on,
            channel=extra.pop("channel", "bank"),
            **extra,
        )
    )


def status(ledger: Ledger, pid: UUID, day: str | date):
    return ledger.get_status(pid, as_of=day)


def covered_months(ledger: Ledger, pid: UUID, first: str, last: str, known_by: date = date.max):
    p = ledger.get_participant(pid)
    start, end = Period.parse(first), Period.parse(last)
    return {
        str(start + i) for i in range(end - start + 1) if covered_programmes(p, start + i, known_by)
    }


# --- first payment, months ahead -------------------------------------------------------


def test_status_is_pending_before_any_payment(ledger: Ledger) -> None:
    pid = enrol(ledger)
    for day in ("2024-01-10", "2024-01-31", "2024-06-15", "2026-06-30"):
        s = status(ledger, pid, day)
        assert s.status == "pending"
        assert not s.covered
        assert s.paid_through is None
        assert (s.arrears_months, s.arrears_amount) == (0, 0)
        assert s.programmes == ("JKK", "JKM")


def test_first_payment_makes_its_month_active(ledger: Ledger) -> None:
    pid = enrol(ledger)
    result = pay(ledger, pid, M, "2024-01-12")
    assert (str(result.first_month), result.months, result.amount) == ("2024-01", 1, M)
    assert not result.replayed
    assert status(ledger, pid, "2024-01-11").status == "pending"  # not paid yet that day
    s = status(ledger, pid, "2024-01-12")
    assert s.status == "active"
    assert s.covered_programmes == ("JKK", "JKM")
    assert str(s.paid_through) == "2024-01"
    assert status(ledger, pid, "2024-01-31").status == "active"
    assert status(ledger, pid, "2024-02-01").status == "grace"


def test_first_payment_late_starts_cover_at_its_own_month(ledger: Ledger) -> None:
    pid = enrol(ledger)
    result = pay(ledger, pid, M, "2024-03-05")
    assert str(result.first_month) == "2024-03"
    assert status(ledger, pid, "2024-02-15").status == "pending"
    assert covered_months(ledger, pid, "2024-01", "2024-12") == {"2024-03"}


def test_paying_three_months_ahead(ledger: Ledger) -> None:
    pid = enrol(ledger)
    result = pay(ledger, pid, 3 * M, "2024-01-12")
    assert (str(result.first_month), result.months) == ("2024-01", 3)
    assert str(result.last_month) == "2024-03"
    assert status(ledger, pid, "2024-03-31").status == "active"
    assert status(ledger, pid, "2024-04-01").status == "grace"
    assert covered_months(ledger, pid, "2023-12", "2024-06") == {"2024-01", "2024-02", "2024-03"}


def test_paying_twelve_months_at_once(ledger: Ledger) -> None:
    pid = enrol(ledger)
    result = pay(ledger, pid, 12 * M, "2024-01-12")
    assert (str(result.first_month), str(result.last_month)) == ("2024-01", "2024-12")
    assert status(ledger, pid, "2024-12-31").status == "active"
    assert status(ledger, pid, "2025-01-01").status == "grace"


def test_the_current_month_plus_twelve_ahead_is_the_limit(ledger: Ledger, refused) -> None:
    # DOMAIN.md: "then months ahead (at most 12 ahead)"; programme_rules.toml: "a payment
    # may settle at most 12 months past the current one".
    pid = enrol(ledger)
    with refused(ledger, "too_many_months_ahead"):  # 13 ahead of January 2024
        pay(ledger, pid, 14 * M, "2024-01-12")
    result = pay(ledger, pid, 13 * M, "2024-01-12")
    assert str(result.last_month) == "2025-01"  # 12 past the current month
    with refused(ledger, "too_many_months_ahead"):  # one more would be 13 ahead
        pay(ledger, pid, M, "2024-01-20")
    # a month later, one more month is allowed again
    assert str(pay(ledger, pid, M, "2024-02-01").first_month) == "2025-02"


def test_thirteen_ahead_is_refused_after_paying_ahead(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, 6 * M, "2024-01-12")  # Jan..Jun
    with refused(ledger, "too_many_months_ahead"):  # Jul 2024..Feb 2025 is 13 past January
        pay(ledger, pid, 8 * M, "2024-01-20")
    assert str(pay(ledger, pid, 7 * M, "2024-01-20").last_month) == "2025-01"


@pytest.mark.parametrize("amount", [M + 1, M - 1, 10_000, 16_800, M * 3 // 2, 2 * M + 6_800])
def test_amount_not_a_whole_number_of_months_is_refused(
    ledger: Ledger, refused, amount: int
) -> None:
    pid = enrol(ledger)
    with refused(ledger, "amount_not_whole_months"):
        pay(ledger, pid, amount, "2024-01-12")
    assert status(ledger, pid, "2024-01-31").status == "pending"


# --- grace and lapse -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months"), [("2024-02-01", 1), ("2024-02-29", 1), ("2024-03-15", 2), ("2024-04-30", 3)]
)
def test_unpaid_for_up_to_three_months_is_grace(ledger: Ledger, day: str, months: int) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    s = status(ledger, pid, day)
    assert s.status == "grace"
    assert not s.covered
    assert (s.arrears_months, s.arrears_amount) == (months, months * M)
    assert str(s.paid_through) == "2024-01"


@pytest.mark.parametrize("day", ["2024-05-01", "2024-08-20", "2026-06-30"])
def test_unpaid_for_more_than_three_months_is_lapsed(ledger: Ledger, day: str) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    s = status(ledger, pid, day)
    assert s.status == "lapsed"
    assert (s.arrears_months, s.arrears_amount) == (0, 0)


def test_arrears_amount_follows_a_declared_income(ledger: Ledger) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=pid,
            declared_income=3_000_000,
            from_month="2024-03",
            declared_on="2024-01-20",
        )
    )
    s = status(ledger, pid, "2024-03-10")
    assert (s.arrears_months, s.arrears_amount) == (2, M + 36_800)


def test_a_payment_in_grace_settles_the_arrears_first(ledger: Ledger) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    before = status(ledger, pid, "2024-03-05")
    assert (before.status, before.arrears_months) == ("grace", 2)

    result = pay(ledger, pid, 3 * M, "2024-04-10")
    assert (str(result.first_month), result.months) == ("2024-02", 3)  # Feb, Mar, Apr

    # Cover for the past months is restored, as known from the payment on:
    p = ledger.get_participant(pid)
    for month in ("2024-02", "2024-03"):
        assert covered_programmes(p, Period.parse(month), date(2024, 4, 10)) == ("JKK", "JKM")
        assert covered_programmes(p, Period.parse(month), date(2024, 4, 9)) == ()
    assert covered_months(ledger, pid, "2024-01", "2024-12") == {
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
    }
    # ...but the status as of a day before the payment stays what it was that day.
    again = status(ledger, pid, "2024-03-05")
    assert again == before
    assert status(ledger, pid, "2024-04-09").status == "grace"
    after = status(ledger, pid, "2024-04-10")
    assert (after.status, str(after.paid_through), after.arrears_months) == ("active", "2024-04", 0)


def test_a_partial_payment_in_grace_settles_the_oldest_month(ledger: Ledger) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    result = pay(ledger, pid, M, "2024-04-10")
    assert (str(result.first_month), result.months) == ("2024-02", 1)
    s = status(ledger, pid, "2024-04-10")
    assert (s.status, s.arrears_months, s.arrears_amount) == ("grace", 2, 2 * M)
    # In May the arrears (Mar, Apr, May) are still within three months of February.
    assert str(pay(ledger, pid, M, "2024-05-10").first_month) == "2024-03"


def test_last_day_of_grace_still_settles_arrears(ledger: Ledger) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    assert str(pay(ledger, pid, M, "2024-04-30").first_month) == "2024-02"


def test_a_payment_after_lapse_restarts_cover_from_its_own_month(ledger: Ledger) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    assert status(ledger, pid, "2024-05-10").status == "lapsed"
    result = pay(ledger, pid, M, "2024-05-10")
    assert (str(result.first_month), result.months) == ("2024-05", 1)
    assert covered_months(ledger, pid, "2024-01", "2024-12") == {"2024-01", "2024-05"}
    assert status(ledger, pid, "2024-05-10").status == "active"
    assert status(ledger, pid, "2024-04-15").status == "grace"  # as known then
    # The gap stays uncovered, whenever one asks.
    p = ledger.get_participant(pid)
    for month in ("2024-02", "2024-03", "2024-04"):
        assert covered_programmes(p, Period.parse(month), date(2026, 6, 30)) == ()


def test_a_payment_long_after_lapse_may_pay_ahead(ledger: Ledger) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    result = pay(ledger, pid, 3 * M, "2024-09-01")
    assert (str(result.first_month), str(result.last_month)) == ("2024-09", "2024-11")
    assert status(ledger, pid, "2024-08-31").status == "lapsed"


# --- death, withdrawal, dates ----------------------------------------------------------


def test_death_makes_the_status_deceased_and_refuses_payments(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, 3 * M, "2024-01-12")
    ledger.record_death(parse(RecordDeath, participant_id=pid, died_on="2024-02-20"))
    assert status(ledger, pid, "2024-02-19").status == "active"
    s = status(ledger, pid, "2024-02-20")
    assert (s.status, s.died_on) == ("deceased", date(2024, 2, 20))
    assert status(ledger, pid, "2025-01-01").status == "deceased"
    with refused(ledger, "participant_deceased"):
        pay(ledger, pid, M, "2024-03-10")
    with refused(ledger, "already_deceased"):
        ledger.record_death(parse(RecordDeath, participant_id=pid, died_on="2024-02-21"))


def test_withdrawal_makes_the_status_withdrawn_and_refuses_payments(
    ledger: Ledger, refused
) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    ledger.withdraw(
        parse(Withdraw, participant_id=pid, withdrawn_on="2024-01-25", reason="moved abroad")
    )
    assert status(ledger, pid, "2024-01-24").status == "active"
    s = status(ledger, pid, "2024-01-25")
    assert (s.status, s.withdrawn_on) == ("withdrawn", date(2024, 1, 25))
    with refused(ledger, "participant_withdrawn"):
        pay(ledger, pid, M, "2024-02-10")
    with refused(ledger, "participant_withdrawn"):
        ledger.withdraw(parse(Withdraw, participant_id=pid, withdrawn_on="2024-02-01"))


def test_payment_dated_before_enrollment_is_refused(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    with refused(ledger, "date_before_enrollment"):
        pay(ledger, pid, M, "2024-01-09")
    with refused(ledger, "date_before_enrollment"):
        pay(ledger, pid, M, "2023-12-20")


def test_payments_out_of_date_order_settle_by_date(ledger: Ledger) -> None:
    pid = enrol(ledger)
    assert str(pay(ledger, pid, M, "2024-03-10").first_month) == "2024-03"
    assert str(pay(ledger, pid, M, "2024-02-10").first_month) == "2024-02"  # late: its place
    assert str(pay(ledger, pid, M, "2024-03-10").first_month) == "2024-04"  # same day: after
    assert covered_months(ledger, pid, "2024-01", "2024-12") == {"2024-02", "2024-03", "2024-04"}


def test_future_dates_are_refused(make_ledger, refused) -> None:
    ledger = make_ledger(today=date(2024, 1, 31))
    with refused(ledger, "date_in_future"):
        enrol(ledger, enrolled_on="2024-02-01")
    pid = enrol(ledger)
    with refused(ledger, "date_in_future"):
        pay(ledger, pid, M, "2024-02-01")
    with refused(ledger, "date_in_future"):
        ledger.record_death(parse(RecordDeath, participant_id=pid, died_on="2024-02-01"))
    pay(ledger, pid, M, "2024-01-31")  # today is fine


def test_dates_default_to_today(make_ledger) -> None:
    ledger = make_ledger(today=date(2024, 1, 31))
    pid = ledger.enroll(
        parse(Enroll, {k: v for k, v in enrollment().items() if k != "enrolled_on"})
    )
    assert ledger.get_participant(pid).enrolled_on == date(2024, 1, 31)
    result = ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref="today",
            participant_id=str(pid),
            amount=M,
            channel="bank",
        )
    )
    assert str(result.first_month) == "2024-01"
    assert ledger.get_status(pid).status == "active"


def test_status_before_enrollment_is_refused(ledger: Ledger) -> None:
    pid = enrol(ledger)
    with pytest.raises(LedgerError) as info:
        status(ledger, pid, "2024-01-09")
    assert info.value.code == "not_enrolled_yet"


# --- amounts that follow programmes and income -----------------------------------------


def test_jht_adds_two_percent_of_the_bracket(ledger: Ledger, refused) -> None:
    pid = enrol(ledger, programmes="JKK+JKM+JHT")
    with_jht = 15_000 + 6_800 + 30_000
    with refused(ledger, "amount_not_whole_months"):
        pay(ledger, pid, M, "2024-01-12")
    pay(ledger, pid, 2 * with_jht, "2024-01-12")
    s = status(ledger, pid, "2024-01-31")
    assert s.covered_programmes == ("JKK", "JKM", "JHT")
    assert s.jht_balance == 60_000
    paid = next(e for e in ledger.get_history(pid) if type(e).__name__ == "ContributionPaid")
    assert paid.by_programme == {"JKK": 30_000, "JKM": 13_600, "JHT": 60_000}


def test_joining_jht_from_a_later_month_changes_that_months_amount(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    ledger.change_programmes(
        parse(
            ChangeProgrammes,
            participant_id=pid,
            programmes="JKK+JKM+JHT",
            from_month="2024-03",
            changed_on="2024-01-11",
        )
    )
    with refused(ledger, "amount_not_whole_months"):
        pay(ledger, pid, 3 * M, "2024-01-12")
    pay(ledger, pid, 2 * M + 51_800, "2024-01-12")
    assert status(ledger, pid, "2024-02-15").covered_programmes == ("JKK", "JKM")
    s = status(ledger, pid, "2024-03-15")
    assert s.covered_programmes == ("JKK", "JKM", "JHT")
    assert s.programmes == ("JKK", "JKM", "JHT")
    assert s.jht_balance == 30_000


def test_programme_change_for_a_paid_month_is_refused(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, 3 * M, "2024-01-12")
    with refused(ledger, "months_already_paid"):
        ledger.change_programmes(
            parse(
                ChangeProgrammes,
                participant_id=pid,
                programmes="JKK+JKM+JHT",
                from_month="2024-03",
                changed_on="2024-01-20",
            )
        )


def test_income_declared_from_a_later_month_changes_that_months_amount(
    ledger: Ledger, refused
) -> None:
    pid = enrol(ledger)
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=pid,
            declared_income="3.000.000",
            from_month="2024-02",
            declared_on="2024-01-11",
        )
    )
    with refused(ledger, "amount_not_whole_months"):
        pay(ledger, pid, 2 * M, "2024-01-12")
    result = pay(ledger, pid, M + 36_800, "2024-01-12")
    assert result.months == 2
    assert status(ledger, pid, "2024-01-31").declared_income == 1_500_000
    assert status(ledger, pid, "2024-02-01").declared_income == 3_000_000
    assert pay(ledger, pid, 36_800, "2024-02-10").months == 1


def test_income_declaration_for_a_paid_month_is_refused(ledger: Ledger, refused) -> None:
    # As for programme changes (months_already_paid): a paid month keeps the income it was
    # paid at, or a JKK death benefit (48 x declared income) could be raised for months
    # paid at a lower bracket.
    pid = enrol(ledger)
    pay(ledger, pid, 3 * M, "2024-01-12")
    with refused(ledger, "months_already_paid"):
        ledger.declare_income(
            parse(
                DeclareIncome,
                participant_id=pid,
                declared_income=20_000_000,
                from_month="2024-02",
                declared_on="2024-01-20",
            )
        )
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=pid,
            declared_income=20_000_000,
            from_month="2024-04",
            declared_on="2024-01-20",
        )
    )


def test_income_declaration_for_a_month_before_enrollment_is_refused(
    ledger: Ledger, refused
) -> None:
    pid = enrol(ledger)
    with refused(ledger, "month_before_enrollment"):
        ledger.declare_income(
            parse(
                DeclareIncome,
                participant_id=pid,
                declared_income=3_000_000,
                from_month="2023-12",
                declared_on="2024-01-11",
            )
        )


# --- properties ------------------------------------------------------------------------

ENROLLED = date(2022, 1, 5)
E = Period.containing(ENROLLED).index
TODAY = date(2026, 6, 30)
GRACE, AHEAD = 3, 12  # DOMAIN.md: arrears of at most 3 months; at most 12 ahead


def month_end(index: int) -> date:
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def day_in(index: int, day: int) -> date:
    year, month = divmod(index, 12)
    return date(year, month + 1, day)


class Model:
    """DOMAIN.md's coverage rules, written out independently of domain.coverage."""

    def __init__(self, enrolled_month: int) -> None:
        self.enrolled_month = enrolled_month
        self.paid: set[int] = set()
        self.history: list[tuple[int, set[int]]] = []  # (month paid in, months settled)

    def start(self, month: int) -> int:
        if not self.paid:  # cover starts with the first paid month (enrollment at earliest)
            return max(month, self.enrolled_month)
        through = max(self.paid)
        if month - through <= GRACE:  # unpaid months since the last paid one come first
            return through + 1
        return month  # lapsed: reactivates from the month it pays

    def most_months(self, month: int) -> int:
        return month + AHEAD - self.start(month) + 1

    def pay(self, month: int, months: int) -> tuple[int, int]:
        first = self.start(month)
        assert 1 <= months <= self.most_months(month)
        settled = set(range(first, first + months))
        self.paid |= settled
        self.history.append((month, settled))
        return first, months

    def status_at_end_of(self, month: int) -> tuple[str, int]:
        known: set[int] = set()
        for paid_in, settled in self.history:
            if paid_in <= month:
                known |= settled
        if month in known:
            return "active", 0
        earlier = [m for m in known if m < month]
        if not earlier:
            return "pending", 0
        if month - max(earlier) <= GRACE:
            return "grace", month - max(earlier)
        return "lapsed", 0


def monthly(income: int, programmes: tuple[str, ...]) -> int:
    # The rules' figures for a month (all test months share the one shipped ruleset).
    rules = default_rule_book().at(ENROLLED)
    return sum(rules.monthly_contribution(income, programmes).values())


# mostly skips (so grace and lapse happen), else one month or up to 14 (capped at the limit)
decision = st.one_of(
    st.just(0), st.just(0), st.just(0), st.just(1), st.integers(min_value=1, max_value=14)
)
plan = st.fixed_dictionaries(
    {
        "income": st.sampled_from([500_000, 1_500_000, 3_750_000, 25_000_000]),
        "programmes": st.sampled_from([("JKK", "JKM"), ("JKK", "JKM", "JHT")]),
        "decisions": st.lists(decision, min_size=36, max_size=36),
        "day": st.integers(min_value=5, max_value=28),
    }
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_plan(ledger: Ledger, plan: dict) -> tuple[UUID, Model, int]:
    pid = ledger.enroll(
        parse(
            Enroll,
            enrollment(
                enrolled_on=ENROLLED.isoformat(),
                declared_income=plan["income"],
                programmes="+".join(plan["programmes"]),
            ),
        )
    )
    due = monthly(plan["income"], plan["programmes"])
    model = Model(E)
    for offset, wanted in enumerate(plan["decisions"]):
        month = E + offset
        if wanted == 0 or model.most_months(month) < 1:
            continue
        months = min(wanted, model.most_months(month))
        first, _ = model.pay(month, months)
        result = pay(ledger, pid, months * due, day_in(month, plan["day"]))
        assert (result.first_month.index, result.months) == (first, months), (
            f"payment in {Period(month)}: ledger settled {result.first_month} x{result.months}, "
            f"model {Period(first)} x{months}"
        )
    return pid, model, due


@PROPERTY
@given(plan=plan)
def test_coverage_follows_the_rules_for_any_payment_history(make_ledger, plan) -> None:
    ledger = make_ledger(today=TODAY)
    pid, model, due = run_plan(ledger, plan)
    p = ledger.get_participant(pid)
    horizon = range(E - 1, E + 36 + AHEAD + 1)
    covered = {m for m in horizon if covered_programmes(p, Period(m), TODAY)}
    assert covered == model.paid
    for m in range(E, E + 36):
        s = ledger.get_status(pid, as_of=month_end(m))
        expected, arrears = model.status_at_end_of(m)
        event(expected)
        assert (s.status, s.arrears_months) == (expected, arrears), f"end of {Period(m)}"
        assert s.arrears_amount == arrears * due
        assert s.covered_programmes == (plan["programmes"] if expected == "active" else ())


@PROPERTY
@given(plan=plan, extra=st.integers(min_value=1, max_value=20 * 430_000))
def test_an_amount_that_is_not_whole_months_is_refused(make_ledger, plan, extra: int) -> None:
    ledger = make_ledger(today=TODAY)
    plan = {**plan, "decisions": plan["decisions"][:12]}
    pid, model, due = run_plan(ledger, plan)
    month = E + 12
    amount = extra if extra % due else extra + 1
    before = ledger.recorder.max_notification_id()
    with pytest.raises(LedgerError) as info:
        pay(ledger, pid, amount, day_in(month, 28))
    allowed = max(model.most_months(month), 0)
    if amount < allowed * due:
        assert info.value.code == "amount_not_whole_months"
    else:
        assert info.value.code in ("amount_not_whole_months", "too_many_months_ahead")
    assert ledger.recorder.max_notification_id() == before
    # ...and whole months up to the limit are accepted
    if allowed:
        assert pay(ledger, pid, allowed * due, day_in(month, 28)).months == allowed


@PROPERTY
@given(
    plan=plan,
    offsets=st.lists(st.integers(min_value=0, max_value=36 * 31 + 400), min_size=1, max_size=25),
    death=st.one_of(st.none(), st.integers(min_value=0, max_value=36 * 31)),
)
def test_status_is_a_pure_function_of_the_events(make_ledger, plan, offsets, death) -> None:
    ledger = make_ledger(today=TODAY)
    pid, _, _ = run_plan(ledger, plan)
    if death is not None:
        ledger.record_death(
            parse(RecordDeath, participant_id=pid, died_on=ENROLLED + timedelta(days=death))
        )
    days = [ENROLLED + timedelta(days=o) for o in offsets]
    live = [ledger.get_status(pid, as_of=day) for day in days]
    # a second application over the same log, with no cache or snapshot of its own
    second = make_ledger(today=TODAY, recorder=ledger.recorder)
    assert [second.get_status(pid, as_of=day) for day in days] == live
    # asking again, in another order, changes nothing
    assert [ledger.get_status(pid, as_of=day) for day in reversed(days)] == live[::-1]
    # a fold of the stored events by hand gives the same aggregate
    folded = None
    for stored in ledger.events.get(pid):
        folded = stored.mutate(folded)
    again = ledger.get_participant(pid)
    assert folded.__dict__ == again.__dict__


def test_status_is_the_same_from_a_snapshot_and_from_the_events(make_ledger) -> None:
    ledger = make_ledger(today=TODAY)
    pid = ledger.enroll(
        parse(Enroll, enrollment(enrolled_on=ENROLLED.isoformat(), programmes="JKK+JKM+JHT"))
    )
    due = monthly(1_500_000, ("JKK", "JKM", "JHT"))
    for offset in range(54):  # past the snapshot interval of 50 events
        pay(ledger, pid, due, day_in(E + offset, 10))
    assert ledger.snapshots is not None
    assert list(ledger.snapshots.get(pid)), "expected a snapshot after 50 events"
    second = make_ledger(today=TODAY, recorder=ledger.recorder)
    for offset in range(0, 60, 3):
        day = month_end(E + offset)
        assert ledger.get_status(pid, as_of=day) == second.get_status(pid, as_of=day)
    assert ledger.get_status(pid, as_of=TODAY).jht_balance == 54 * 30_000
