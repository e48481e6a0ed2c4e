"""How payments settle months: in the order of their own dates (`paid_on`), whenever
they reach the ledger.

DOMAIN.md: a payment first settles unpaid months since the last paid one (within grace),
then the current month, then months ahead; the order is the payments' dates, not their
arrival. So a payment that arrives late is settled in its place: the payments dated
before it keep their months, it settles what they left, and the payments dated after it
settle again after it. Where that moves months already settled, the participant records
the move (`Participant.ContributionsResettled`), so the log keeps both settlements.

Every payment keeps its own limits, taken on its own `paid_on`: arrears within the grace
in force that day, at most the months ahead allowed from that day's month, and an amount
that is a whole number of months at the rates of the months it settles. A late payment
whose arrival would leave a later payment breaking one of them is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.coverage import PaidSpan, PaymentHistory, Settlement, settle_after
from domain.errors import LedgerError, RuleViolationError
from domain.rules import RuleBook
from domain.values import Period


@dataclass(frozen=True)
class Move:
    """A recorded payment whose months change because an earlier-dated one arrived."""

    span: PaidSpan  # as settled before
    settlement: Settlement  # as settled now

    def as_fact(self) -> dict[str, object]:
        """The move as an event records it: before and after, whole."""
        return {
            "payment_ref": self.span.payment_ref,
            "paid_on": self.span.paid_on,
            "amount": self.span.amount,
            "was_first_month": self.span.first,
            "was_months": self.span.months,
            "was_jht_amount": self.span.jht_amount,
            "first_month": self.settlement.first,
            "months": self.settlement.months,
            "by_programme": self.settlement.by_programme,
        }


@dataclass(frozen=True)
class PaymentPlan:
    """What recording one payment does: its own settlement, and the moves it causes."""

    settlement: Settlement
    moves: tuple[Move, ...]

    def paid_through_after_moves(self, spans: list[PaidSpan]) -> Period | None:
        """The last month the recorded `spans` pay once moved (this payment's aside)."""
        moved = {m.span.first: m.settlement.last for m in self.moves}
        return max((moved.get(s.first, s.last) for s in spans), default=None)


def in_paid_on_order(spans: list[PaidSpan]) -> list[PaidSpan]:
    """Spans in the order they settle: by `paid_on`, ties in recording order."""
    return sorted(spans, key=lambda span: span.paid_on)  # stable: the list is in recording order


def plan_payment(p: PaymentHistory, paid_on: date, amount: int, rules: RuleBook) -> PaymentPlan:
    """Settle a new payment in its place among the recorded ones (it comes after those
    dated the same day: they were recorded first), and settle again every payment dated
    after it. Refuses, with nothing changed, if this payment or a later one cannot settle."""
    earlier = [s for s in p.payments if s.paid_on <= paid_on]
    later = in_paid_on_order([s for s in p.payments if s.paid_on > paid_on])
    last = max((s.last for s in earlier), default=None)
    settlement = settle_after(p, paid_on, amount, rules, last)
    last = settlement.last if last is None else max(last, settlement.last)
    moves: list[Move] = []
    for span in later:
        try:
            again = settle_after(p, span.paid_on, span.amount, rules, last)
        except LedgerError as error:
            raise RuleViolationError(
                "late_payment_conflict",
                f"A payment dated {paid_on.isoformat()} would move the payment "
                f"{span.payment_ref or '(unnamed)'} of {span.paid_on.isoformat()} "
                f"(Rp {span.amount:,}, now {span.first}..{span.last}), which then cannot "
                f"settle: {error.message}",
            ) from None
        if (again.first, again.months, again.by_programme.get("JHT", 0)) != (
            span.first,
            span.months,
            span.jht_amount,
        ):
            moves.append(Move(span, again))
        last = max(last, again.last)
    return PaymentPlan(settlement, tuple(moves))
