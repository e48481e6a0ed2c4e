"""One person's months, simulated in date order with the ledger's own rules.

`History` keeps what `domain.coverage` asks of a member (`PaymentHistory`), so the months a
payment settles, what they cost and whether a day is covered come from the domain's own
functions and the rule book the plan is made with, never from a copy of them here.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING

from domain.coverage import (
    PaidSpan,
    covered_programmes,
    first_unpaid,
    in_force,
    last_payable,
    months_due,
)
from domain.values import MANDATORY_PROGRAMMES, PROGRAMME_ORDER, Period, Programme
from tools.seed.figures import (
    CLAIM_REJECTIONS,
    DEATHS_PER_YEAR,
    INCOME_CHANGES_PER_YEAR,
    PROGRAMME_CHANGES_PER_YEAR,
    WITHDRAWAL_REASONS,
    WITHDRAWALS_PER_YEAR,
    WORK_ACCIDENTS_PER_YEAR,
)
from tools.seed.model import (
    APPROVE,
    DEATH,
    FILE,
    INCOME,
    PAY,
    PAY_CLAIM,
    PROGRAMMES,
    REJECT,
    WITHDRAW,
    SeedPerson,
    day_between,
    month_end,
    per_month,
)

if TYPE_CHECKING:
    from tools.seed.plan import Planner


class History:
    """One person's months, simulated in date order with the ledger's own rules."""

    def __init__(self, planner: Planner, person: SeedPerson) -> None:
        self.planner = planner
        self.rng = planner.rng
        self.rules = planner.rules
        self.person = person
        # What `domain.coverage.PaymentHistory` asks of a member, kept as the ledger keeps it.
        first = Period.containing(person.enrolled_on)
        self.enrolled_on = person.enrolled_on
        self.programmes: list[tuple[Period, tuple[str, ...], date]] = [
            (first, person.programmes, person.enrolled_on)
        ]
        self.incomes: list[tuple[Period, int, date]] = [
            (first, person.declared_income, person.enrolled_on)
        ]
        self.payments: list[PaidSpan] = []
        self.paid_through: Period | None = None
        self.jht_balance = 0
        self.claims = 0
        self.ended = False  # died or withdrew
        rng = self.rng
        self.pay_day = rng.randint(1, 15) if rng.random() < 0.75 else rng.randint(16, 28)
        self.pay_channel = "perisai" if rng.random() < 0.4 else "bank"
        self.pay_agent = (
            person.agent_id or planner.agent(person.village_code[:5])
            if self.pay_channel == "perisai"
            else None
        )
        self.ahead = rng.choice((3, 3, 6, 6, 12))
        self.skip = 0  # months still to miss
        months = planner.months
        self.stop_at = Period.containing(person.enrolled_on) + rng.randint(1, max(1, months - 1))
        self.lapse_for = rng.randint(3, 8)

    def covered(self, day: date) -> bool:
        """Whether the day's month is paid, as known that day (the domain's rule)."""
        return bool(covered_programmes(self, Period.containing(day), day))

    # --- simulation ---------------------------------------------------------------------

    def simulate(self) -> None:
        planner, person = self.planner, self.person
        month = Period.containing(person.enrolled_on)
        while month <= planner.end_month and not self.ended:
            self.month(month)
            month = month + 1

    def month(self, month: Period) -> None:
        rng, person, end = self.rng, self.person, self.planner.end
        lo = max(month.first_day, person.enrolled_on)
        hi = min(month_end(month), end)
        # Today's candidates, applied in day order (payments first on a shared day).
        candidates: list[tuple[date, int]] = []
        paid_on = self.payment_day(month, lo)
        if paid_on is not None and paid_on <= hi:
            candidates.append((paid_on, PAY))
        if rng.random() < per_month(INCOME_CHANGES_PER_YEAR):
            candidates.append((day_between(rng, lo, hi), INCOME))
        if rng.random() < per_month(PROGRAMME_CHANGES_PER_YEAR):
            candidates.append((day_between(rng, lo, hi), PROGRAMMES))
        if rng.random() < per_month(DEATHS_PER_YEAR):
            candidates.append((day_between(rng, lo, hi), DEATH))
        elif rng.random() < per_month(WITHDRAWALS_PER_YEAR):
            candidates.append((day_between(rng, lo, hi), WITHDRAW))
        if rng.random() < per_month(WORK_ACCIDENTS_PER_YEAR):
            candidates.append((day_between(rng, lo, hi), FILE))
        for day, kind in sorted(candidates):
            if self.ended:
                break
            if kind == PAY:
                self.pay(day, month)
            elif kind == INCOME:
                self.declare_income(day, month)
            elif kind == PROGRAMMES:
                self.change_programmes(day, month)
            elif kind == DEATH:
                self.die(day)
            elif kind == WITHDRAW:
                self.withdraw(day)
            elif kind == FILE:
                self.work_accident(day)

    def payment_day(self, month: Period, lo: date) -> date | None:
        """When (if at all) this person pays in `month`; updates the habit's state."""
        rng, behaviour = self.rng, self.person.behaviour
        if behaviour == "never":
            return None
        start_month = Period.containing(self.person.enrolled_on)
        if behaviour == "dropout" and month >= self.stop_at:
            return None
        if behaviour == "lapser" and self.stop_at <= month < self.stop_at + self.lapse_for:
            return None
        if behaviour == "irregular":
            if self.skip > 0:
                self.skip -= 1
                return None
            if month > start_month and rng.random() < 0.2:
                self.skip = rng.randint(1, 2) - 1  # this month and perhaps the next
                return None
        # Paid ahead: most wait for cover to run out, some renew in its last month.
        if (
            behaviour == "ahead"
            and self.paid_through is not None
            and month <= self.paid_through
            and not (month == self.paid_through and rng.random() < 0.3)
        ):
            return None
        if month == start_month and self.person.channel == "perisai" and rng.random() < 0.8:
            return self.person.enrolled_on  # the agent collects the first month at enrollment
        day = min(28, max(1, self.pay_day + rng.randint(-3, 3)))
        return max(lo, date(month.year, month.month, day))

    def pay(self, paid_on: date, month: Period) -> None:
        rng = self.rng
        start = first_unpaid(self, paid_on, self.rules)
        behind = month - start + 1  # months up to and including the current one
        if self.person.behaviour == "ahead":
            months = max(behind, 0) + self.ahead - (1 if behind > 0 else 0)
        elif behind <= 0:
            return  # already paid for this month
        elif behind > 1 and rng.random() < 0.25:
            months = behind - 1  # pays the arrears only, the current month next time
        else:
            months = behind
        months = min(months, last_payable(paid_on, self.rules) - start + 1)
        if months <= 0:
            return
        by_programme = months_due(self, start, months, self.rules)
        amount = sum(by_programme.values())
        jht = by_programme.get(Programme.JHT, 0)
        span = PaidSpan(
            paid_on=paid_on,
            first=start,
            months=months,
            programmes=tuple(sorted(by_programme, key=PROGRAMME_ORDER.index)),
            amount=amount,
            jht_amount=jht,
        )
        self.payments.append(span)
        if self.paid_through is None or self.paid_through < span.last:
            self.paid_through = span.last
        self.jht_balance += jht
        channel = (
            self.pay_channel
            if rng.random() < 0.9
            else ("bank" if self.pay_channel == "perisai" else "perisai")
        )
        agent = None
        if channel == "perisai":
            agent = self.pay_agent or self.planner.agent(self.person.village_code[:5])
        self.planner.add(
            paid_on,
            PAY,
            self.person,
            payment_ref=self.planner.payment_ref(),
            amount=amount,
            paid_on=paid_on,
            channel=channel,
            agent_id=agent,
        )

    def _from_month(self, month: Period) -> Period:
        after_paid = self.paid_through + 1 if self.paid_through is not None else month + 1
        return max(after_paid, month + 1)

    def declare_income(self, day: date, month: Period) -> None:
        current = in_force(self.incomes, month, None)
        new = int(round(current * self.rng.uniform(0.7, 1.6), -5))
        new = min(20_700_000, max(1_000_000, new))
        if new == current:
            return
        from_month = self._from_month(month)
        self.incomes.append((from_month, new, day))
        self.incomes.sort(key=lambda entry: entry[0])
        self.planner.add(
            day,
            INCOME,
            self.person,
            declared_income=new,
            from_month=str(from_month),
            declared_on=day,
        )

    def change_programmes(self, day: date, month: Period) -> None:
        current = in_force(self.programmes, month, None)
        new = (
            MANDATORY_PROGRAMMES
            if Programme.JHT in current
            else (*MANDATORY_PROGRAMMES, Programme.JHT)
        )
        from_month = self._from_month(month)
        self.programmes.append((from_month, new, day))
        self.programmes.sort(key=lambda entry: entry[0])
        self.planner.add(
            day,
            PROGRAMMES,
            self.person,
            programmes="+".join(new),
            from_month=str(from_month),
            changed_on=day,
        )

    def die(self, day: date) -> None:
        rng, person = self.rng, self.person
        self.ended = True
        self.planner.add(day, DEATH, person, died_on=day)
        if self.covered(day) and rng.random() < 0.9:
            if rng.random() < 0.15:
                self.claim(
                    day,
                    Programme.JKK,
                    "death",
                    work_related=True,
                    description="died in an accident at work",
                )
            else:
                self.claim(day, Programme.JKM, "death", work_related=False, description="died")
        if self.jht_balance > 0 and rng.random() < 0.9:
            self.claim(
                day,
                Programme.JHT,
                "death",
                work_related=False,
                description="JHT balance to the heirs",
            )

    def withdraw(self, day: date) -> None:
        self.ended = True
        self.planner.add(
            day, WITHDRAW, self.person, withdrawn_on=day, reason=self.rng.choice(WITHDRAWAL_REASONS)
        )
        if self.jht_balance > 0:
            self.claim(
                day,
                Programme.JHT,
                "withdrawal",
                work_related=False,
                description="JHT balance on leaving the scheme",
            )

    def work_accident(self, day: date) -> None:
        if not self.covered(day):
            return
        kind = "medical" if self.rng.random() < 0.8 else "temporary_incapacity"
        self.claim(
            day, Programme.JKK, kind, work_related=True, description=f"work accident: {kind}"
        )

    def claim(
        self, incident: date, programme: str, kind: str, *, work_related: bool, description: str
    ) -> None:
        rng, end = self.rng, self.planner.end
        filed_on = incident + timedelta(days=rng.randint(0, 30))
        if filed_on > end:
            return  # not filed yet
        self.claims += 1
        key = f"{self.person.index}:{self.claims}"
        self.planner.add(
            filed_on,
            FILE,
            self.person,
            claim=key,
            programme=programme,
            kind=kind,
            incident_date=incident,
            filed_on=filed_on,
            work_related=work_related,
            description=description,
        )
        decided_on = filed_on + timedelta(days=rng.randint(3, 30))
        if decided_on > end:
            return  # still open
        r = rng.random()
        reject_share = (
            0.0 if programme == Programme.JHT else 0.12 if programme == Programme.JKK else 0.06
        )
        if r < reject_share:
            self.planner.add(
                decided_on,
                REJECT,
                self.person,
                claim=key,
                reason=rng.choice(CLAIM_REJECTIONS[programme]),
                rejected_on=decided_on,
            )
            return
        if r > 0.97:
            return  # still under review
        amount = None
        if programme == Programme.JKK and kind != "death":
            amount = min(
                20_000_000,
                max(1_000_000, int(round(1_000_000 * math.exp(rng.expovariate(0.9)), -3))),
            )
        self.planner.add(
            decided_on, APPROVE, self.person, claim=key, approved_on=decided_on, amount=amount
        )
        paid_on = decided_on + timedelta(days=rng.randint(1, 14))
        if paid_on <= end:
            self.planner.add(paid_on, PAY_CLAIM, self.person, claim=key, paid_on=paid_on)
