"""Coverage as a pure function of a participant's recorded facts and a date.

Nothing here is stored as a flag: whether a month is covered, the status on a day and
how a payment settles months all follow from the payments, declarations and life events
known on that day, and from the rules in force for each month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.errors import RuleViolationError
from domain.rules import RuleBook
from domain.values import Period, Programme

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PaidSpan:
    """Consecutive months settled by one payment, and for which programmes."""

    paid_on: date
    first: Period
    months: int
    programmes: tuple[str, ...]
    amount: int
    jht_amount: int
    payment_ref: str = ""  # empty in snapshots taken before references were kept here

    @property
    def last(self) -> Period:
        return self.first + (self.months - 1)

    def covers(self, month: Period) -> bool:
        return 0 <= month.index - self.first.index < self.months


@dataclass(frozen=True, slots=True)
class Settlement:
    """Which months a payment settles, and what it pays per programme."""

    first: Period
    months: int
    by_programme: dict[str, int]

    @property
    def last(self) -> Period:
        return self.first + (self.months - 1)


class PaymentHistory(Protocol):
    """What the contribution rules need of a member: the facts a `Participant` keeps.

    A protocol, so that code planning facts before they are recorded (the seed generator)
    can ask the same rules with its own record of them."""

    enrolled_on: date
    programmes: list[tuple[Period, tuple[str, ...], date]]  # (from month, codes, declared on)
    incomes: list[tuple[Period, int, date]]  # (from month, declared income, declared on)
    payments: list[PaidSpan]
    paid_through: Period | None


class MemberRecord(PaymentHistory, Protocol):
    """What a participant's status needs besides the payments."""

    village: str
    segment: str
    claims: dict[str, dict[str, Any]]
    died_on: date | None
    withdrawn_on: date | None
    erased_on: date | None

    @property
    def id(self) -> UUID: ...


def in_force(timeline: list[tuple[Period, T, date]], month: Period, known_by: date | None) -> T:
    """The value of a `(from_month, value, declared_on)` timeline for a month, counting
    only the declarations made by `known_by` (all of them when None)."""
    if known_by is None:
        return latest_from(timeline, month)
    value = timeline[0][1]
    for start, candidate, declared_on in timeline:
        if start <= month and declared_on <= known_by:
            value = candidate
    return value


def latest_from(timeline: Sequence[Sequence[Any]], month: Any) -> Any:
    """`in_force` for every declaration known: the value of the last entry of a timeline
    (`(from_month, value, ...)` entries, ascending) starting by `month`, else the first
    entry's. The month may be a `Period` or its index, as long as the entries match it."""
    value = timeline[0][1]
    for entry in timeline:
        if entry[0] <= month:
            value = entry[1]
    return value


def monthly_due(
    p: PaymentHistory, month: Period, rules: RuleBook, known_by: date | None = None
) -> dict[str, int]:
    """Contribution per programme for a month, at the rules and declarations in force."""
    programmes = in_force(p.programmes, month, known_by)
    income = in_force(p.incomes, month, known_by)
    return rules.for_month(month).monthly_contribution(income, programmes)


def last_paid_before(spans: list[PaidSpan], month: Period) -> Period | None:
    """The latest paid month strictly before `month`."""
    best: Period | None = None
    for span in spans:
        if span.first < month:
            candidate = min(span.last, month + -1)
            if best is None or best < candidate:
                best = candidate
    return best


def paid_through_by(p: PaymentHistory, paid_on: date) -> Period | None:
    """The last month paid by the payments dated on or before `paid_on`: months settle in
    `paid_on` order, whenever the payments arrive (see `domain.settlement`)."""
    return max((s.last for s in p.payments if s.paid_on <= paid_on), default=None)


def first_unpaid(p: PaymentHistory, paid_on: date, rules: RuleBook) -> Period:
    """The first month a payment on `paid_on` settles, after the payments dated before."""
    return first_after(p, paid_on, rules, paid_through_by(p, paid_on))


def first_after(p: PaymentHistory, paid_on: date, rules: RuleBook, last: Period | None) -> Period:
    """The first month a payment on `paid_on` settles after months paid through `last`.

    Months settle in order: unpaid months since the last paid one (while within grace),
    then the current month, then months ahead. After more than `grace_months` unpaid
    months membership has lapsed, and a payment restarts cover from its own month.
    """
    current = Period.containing(paid_on)
    if last is None:
        return max(current, Period.containing(p.enrolled_on))
    if rules.at(paid_on).in_grace(current - last):
        return last + 1
    return current


def last_payable(paid_on: date, rules: RuleBook) -> Period:
    """The last month a payment on `paid_on` may settle (`max_months_ahead`)."""
    return Period.containing(paid_on) + rules.at(paid_on).max_months_ahead


def months_due(p: PaymentHistory, first: Period, months: int, rules: RuleBook) -> dict[str, int]:
    """What `months` consecutive months from `first` cost, per programme."""
    by_programme: dict[str, int] = {}
    for i in range(months):
        for programme, value in monthly_due(p, first + i, rules).items():
            by_programme[programme] = by_programme.get(programme, 0) + value
    return by_programme


def settle(p: PaymentHistory, paid_on: date, amount: int, rules: RuleBook) -> Settlement:
    """Which months a payment of `amount` on `paid_on` settles (from `first_unpaid`), or
    a refusal: not a whole number of months, or past `last_payable`."""
    return settle_after(p, paid_on, amount, rules, paid_through_by(p, paid_on))


def settle_after(
    p: PaymentHistory, paid_on: date, amount: int, rules: RuleBook, last: Period | None
) -> Settlement:
    """`settle`, after months paid through `last` (by the payments dated before)."""
    current = Period.containing(paid_on)
    ruleset = rules.at(paid_on)
    start = first_after(p, paid_on, rules, last)
    limit = last_payable(paid_on, rules)
    by_programme: dict[str, int] = {}
    total = 0
    month = start
    dues: list[int] = []
    while total < amount:
        if limit < month:
            raise RuleViolationError(
                "too_many_months_ahead",
                f"Rp {amount:,} would pay past {limit}: at most "
                f"{ruleset.max_months_ahead} months ahead of {current} may be paid.",
            )
        due = monthly_due(p, month, rules)
        month_total = sum(due.values())
        dues.append(month_total)
        total += month_total
        for programme, value in due.items():
            by_programme[programme] = by_programme.get(programme, 0) + value
        month = month + 1
    if total != amount:
        valid = [sum(dues[: i + 1]) for i in range(len(dues))]
        nearest = ", ".join(f"Rp {v:,}" for v in valid[-2:])
        raise RuleViolationError(
            "amount_not_whole_months",
            f"Rp {amount:,} is not a whole number of months from {start} "
            f"(monthly Rp {dues[0]:,}; nearest whole amounts: {nearest}).",
        )
    return Settlement(first=start, months=len(dues), by_programme=by_programme)


STATUSES = ("pending", "active", "grace", "lapsed", "deceased", "withdrawn")


@dataclass(frozen=True)
class ParticipantStatus:
    """A participant's standing on a day, as the ledger knew it that day."""

    participant_id: str
    as_of: date
    status: str  # one of STATUSES
    covered_programmes: tuple[str, ...]  # programmes whose cover includes the month
    programmes: tuple[str, ...]  # programmes enrolled in for the month
    paid_through: Period | None
    arrears_months: int
    arrears_amount: int
    village: str
    segment: str
    enrolled_on: date
    declared_income: int
    jht_balance: int
    open_claims: int
    died_on: date | None
    withdrawn_on: date | None
    erased: bool

    @property
    def covered(self) -> bool:
        return bool(self.covered_programmes)

    def as_dict(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            "covered": self.covered,
            "covered_programmes": list(self.covered_programmes),
            "programmes": list(self.programmes),
            "paid_through": str(self.paid_through) if self.paid_through else None,
            "arrears_months": self.arrears_months,
            "arrears_amount": self.arrears_amount,
            "village": self.village,
            "segment": self.segment,
            "enrolled_on": self.enrolled_on.isoformat(),
            "declared_income": self.declared_income,
            "jht_balance": self.jht_balance,
            "open_claims": self.open_claims,
            "died_on": self.died_on.isoformat() if self.died_on else None,
            "withdrawn_on": self.withdrawn_on.isoformat() if self.withdrawn_on else None,
            "erased": self.erased,
        }


def standing(
    day: date,
    rules: RuleBook,
    *,
    covered: bool,
    last_paid: Period | None,
    died_on: date | None,
    withdrawn_on: date | None,
) -> tuple[str, int]:
    """The status word on `day` and the months of arrears, from what is known that day:
    whether the day's month is covered, the last paid month before it, and the dates of
    death or withdrawal. Grace is the rules' in force on `day`."""
    if died_on is not None and died_on <= day:
        return "deceased", 0
    if withdrawn_on is not None and withdrawn_on <= day:
        return "withdrawn", 0
    if covered:
        return "active", 0
    if last_paid is None:
        return "pending", 0
    behind = Period.containing(day) - last_paid
    if rules.at(day).in_grace(behind):
        return "grace", behind
    return "lapsed", 0


def covered_programmes(p: PaymentHistory, month: Period, known_by: date) -> tuple[str, ...]:
    """Programmes whose contribution for `month` was paid by `known_by`.

    A payment may span a programme change (JHT joined from a later month), so the
    month's programmes are those in force for it when the payment was made."""
    for span in p.payments:
        if span.paid_on <= known_by and span.covers(month):
            in_force_then = in_force(p.programmes, month, span.paid_on)
            return tuple(code for code in in_force_then if code in span.programmes)
    return ()


def status_on(p: MemberRecord, day: date, rules: RuleBook) -> ParticipantStatus:
    """Status on `day` from the facts effective by then (payments made, deaths on or before)."""
    if day < p.enrolled_on:
        raise RuleViolationError(
            "not_enrolled_yet",
            f"The participant was enrolled on {p.enrolled_on.isoformat()}, "
            f"after {day.isoformat()}.",
        )
    month = Period.containing(day)
    known = [s for s in p.payments if s.paid_on <= day]
    covered = covered_programmes(p, month, day)
    last = None if covered else last_paid_before(known, month)
    status, arrears_months = standing(
        day,
        rules,
        covered=bool(covered),
        last_paid=last,
        died_on=p.died_on,
        withdrawn_on=p.withdrawn_on,
    )
    arrears_amount = 0
    if status == "grace":
        assert last is not None
        arrears_amount = sum(
            sum(monthly_due(p, last + i, rules, day).values()) for i in range(1, arrears_months + 1)
        )
    paid_through = max((s.last for s in known), default=None)
    open_claims = sum(
        1
        for c in p.claims.values()
        if c["filed_on"] <= day and (c.get("closed_on") is None or day < c["closed_on"])
    )
    return ParticipantStatus(
        participant_id=str(p.id),
        as_of=day,
        status=status,
        covered_programmes=covered,
        programmes=in_force(p.programmes, month, day),
        paid_through=paid_through,
        arrears_months=arrears_months,
        arrears_amount=arrears_amount,
        village=p.village,
        segment=p.segment,
        enrolled_on=p.enrolled_on,
        declared_income=in_force(p.incomes, month, day),
        jht_balance=sum(s.jht_amount for s in known)
        - sum(
            c["amount"]
            for c in p.claims.values()
            if c["programme"] == Programme.JHT and c["status"] == "paid" and c["paid_on"] <= day
        ),
        open_claims=open_claims,
        died_on=p.died_on if p.died_on is not None and p.died_on <= day else None,
        withdrawn_on=p.withdrawn_on
        if p.withdrawn_on is not None and p.withdrawn_on <= day
        else None,
        erased=p.erased_on is not None and p.erased_on <= day,
    )
