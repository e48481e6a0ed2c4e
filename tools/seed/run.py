"""Running a plan through the ledger's own commands: `seed_population`.

Enrollments and payments go in batches (`enroll_many`, `record_contributions`), the rarer
life events one command each, all in date order. Any refusal is a bug in the generator,
so refusals are collected and raised at the end as `SeedError`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.errors import LedgerError
from domain.ledger import EnrollmentResult, Ledger
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
    SeedAction,
    SeedPlan,
)
from tools.seed.plan import plan_population


@dataclass
class SeedReport:
    """What a seed run wrote. `niks` and `participant_ids` are in enrollment order."""

    seed: int
    months: int
    first_month: str
    end: date
    participants: int = 0
    contributions: int = 0
    contributions_amount: int = 0
    events: int = 0
    deaths: int = 0
    withdrawals: int = 0
    income_declarations: int = 0
    programme_changes: int = 0
    claims_filed: int = 0
    claims_approved: int = 0
    claims_rejected: int = 0
    claims_paid: int = 0
    elapsed_seconds: float = 0.0
    planning_seconds: float = 0.0  # of elapsed_seconds: inventing the population, no writes
    niks: tuple[str, ...] = field(default=(), repr=False)
    participant_ids: tuple[UUID | None, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Counts only: the NIKs, synthetic as they are, are personal-data shaped."""
        return {
            "seed": self.seed,
            "months": self.months,
            "first_month": self.first_month,
            "end": self.end.isoformat(),
            "participants": self.participants,
            "contributions": self.contributions,
            "contributions_amount": self.contributions_amount,
            "events": self.events,
            "deaths": self.deaths,
            "withdrawals": self.withdrawals,
            "income_declarations": self.income_declarations,
            "programme_changes": self.programme_changes,
            "claims_filed": self.claims_filed,
            "claims_approved": self.claims_approved,
            "claims_rejected": self.claims_rejected,
            "claims_paid": self.claims_paid,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


@dataclass(frozen=True)
class Refusal:
    what: str  # "enrollment", "contribution", "record_death", ...
    person: int
    code: str
    message: str


class SeedError(RuntimeError):
    """The ledger refused facts the generator produced: a bug in the generator."""

    def __init__(
        self, message: str, *, refusals: Sequence[Refusal] = (), report: SeedReport | None = None
    ) -> None:
        shown = "".join(
            f"\n  {r.what} (person {r.person}): [{r.code}] {r.message}" for r in list(refusals)[:20]
        )
        more = f"\n  ... and {len(refusals) - 20} more" if len(refusals) > 20 else ""
        super().__init__(message + shown + more)
        self.refusals = list(refusals)
        self.report = report


def seed_population(
    ledger: Ledger,
    *,
    participants: int,
    months: int,
    seed: int,
    end: date | None = None,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    chronological: bool = False,
    plan: SeedPlan | None = None,
) -> SeedReport:
    """Enroll `participants` invented workers and record `months` months of their
    history, ending in the month of `end` (default: the ledger's today).

    Enrollments go first, in date order, `batch_size` rows per `enroll_many`. Then the
    history: each person's facts always in date order (payments `batch_size` rows per
    `record_contributions`, other facts one command each). By default the history is
    replayed one person after another, so a batch loads each participant once;
    `chronological=True` replays everyone in one date order instead, so the event log
    reads like real time, several times slower (each payment reloads its participant).

    `progress(done, total)` counts enrollments plus actions (payments, life events,
    claim steps). Raises `SeedError` if the ledger refused anything. `plan`: the result
    of `plan_population` with the same arguments, when the caller already has it (the
    benchmarks: planning a million people takes minutes).
    """
    started = time.perf_counter()
    today = ledger.today()
    end = end or today
    if end > today:
        raise ValueError(f"the seed's end {end.isoformat()} is after today ({today.isoformat()})")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if plan is None:
        plan = plan_population(
            participants=participants, months=months, seed=seed, end=end, rules=ledger.rules
        )
    elif (len(plan.people), plan.seed, plan.end) != (participants, seed, end):
        raise ValueError(
            "the given plan is not this seed's: plan_population with the same arguments"
        )
    planning_seconds = time.perf_counter() - started
    if plan.people and ledger.find_participant(plan.people[0].nik) is not None:
        raise SeedError(
            f"This ledger already holds seed {seed}'s population; "
            "seed an empty ledger or use another seed."
        )
    report = SeedReport(
        seed=seed,
        months=months,
        first_month=str(plan.first_month),
        end=end,
        planning_seconds=planning_seconds,
    )
    run = _Run(ledger, plan, report, batch_size, progress)
    before = ledger.recorder.max_notification_id() or 0
    run.enroll()
    run.replay(chronological)
    report.events = (ledger.recorder.max_notification_id() or 0) - before
    report.niks = tuple(p.nik for p in plan.people)
    report.participant_ids = tuple(run.ids)
    report.elapsed_seconds = time.perf_counter() - started
    if run.refusals:
        raise SeedError(
            f"The ledger refused {len(run.refusals)} generated fact(s):",
            refusals=run.refusals,
            report=report,
        )
    return report


class _Run:
    def __init__(
        self,
        ledger: Ledger,
        plan: SeedPlan,
        report: SeedReport,
        batch_size: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.ledger = ledger
        self.plan = plan
        self.report = report
        self.batch_size = batch_size
        self.progress = progress
        self.total = len(plan.people) + len(plan.actions)
        self.done = 0
        self.ids: list[UUID | None] = [None] * len(plan.people)
        self.claim_ids: dict[str, UUID] = {}
        self.refusals: list[Refusal] = []
        self.failed: set[int] = set()  # people with a refusal: their later facts are skipped
        self.pending: list[SeedAction] = []
        self.pending_people: set[int] = set()

    def advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)

    def refuse(self, what: str, person: int, error: LedgerError) -> None:
        self.refusals.append(Refusal(what, person, error.code, error.message))
        self.failed.add(person)

    def enroll(self) -> None:
        people = self.plan.people
        for start in range(0, len(people), self.batch_size):
            chunk = people[start : start + self.batch_size]
            outcomes = self.ledger.enroll_many([p.enrollment_row() for p in chunk])
            for person, outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, LedgerError):
                    self.refuse("enrollment", person.index, outcome)
                elif isinstance(outcome, EnrollmentResult) and outcome.replayed:
                    self.refuse(
                        "enrollment",
                        person.index,
                        LedgerError(
                            "already_enrolled", "This person was enrolled before this seed run."
                        ),
                    )
                else:
                    self.ids[person.index] = outcome.participant_id
                    self.report.participants += 1
            self.advance(len(chunk))

    def replay(self, chronological: bool) -> None:
        if chronological:
            self.replay_actions(self.plan.actions)
            return
        # One person after another, each person's facts in date order: a batch of
        # payments then loads each participant once instead of once per payment.
        by_person: dict[int, list[SeedAction]] = defaultdict(list)
        for action in self.plan.actions:
            by_person[action.person].append(action)
        self.replay_actions([a for p in self.plan.people for a in by_person.get(p.index, ())])

    def replay_actions(self, actions: Sequence[SeedAction]) -> None:
        for action in actions:
            if action.kind == PAY:
                self.pending.append(action)
                self.pending_people.add(action.person)
                if len(self.pending) >= self.batch_size:
                    self.flush()
                continue
            if action.person in self.pending_people:
                self.flush()  # this person's earlier payments first
            self.command(action)
            self.advance(1)
        self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch = [a for a in self.pending if a.person not in self.failed]
        rows = [
            {
                "participant_id": str(self.ids[a.person]),
                "payment_ref": a.args["payment_ref"],
                "amount": a.args["amount"],
                "paid_on": a.args["paid_on"],
                "channel": a.args["channel"],
                "agent_id": a.args["agent_id"],
            }
            for a in batch
        ]
        outcomes = self.ledger.record_contributions(rows) if rows else []
        for action, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, LedgerError):
                self.refuse("contribution", action.person, outcome)
            elif outcome.replayed:
                self.refuse(
                    "contribution",
                    action.person,
                    LedgerError(
                        "payment_replayed", f"{action.args['payment_ref']} was recorded before."
                    ),
                )
            else:
                self.report.contributions += 1
                self.report.contributions_amount += outcome.amount
        self.advance(len(self.pending))
        self.pending = []
        self.pending_people = set()

    def command(self, action: SeedAction) -> None:
        if action.person in self.failed:
            return
        participant_id = self.ids[action.person]
        assert participant_id is not None
        ledger, args, report = self.ledger, action.args, self.report
        try:
            if action.kind == INCOME:
                ledger.declare_income(
                    participant_id,
                    declared_income=args["declared_income"],
                    from_month=args["from_month"],
                    declared_on=args["declared_on"],
                )
                report.income_declarations += 1
            elif action.kind == PROGRAMMES:
                ledger.change_programmes(
                    participant_id,
                    programmes=args["programmes"],
                    from_month=args["from_month"],
                    changed_on=args["changed_on"],
                )
                report.programme_changes += 1
            elif action.kind == DEATH:
                ledger.record_death(participant_id, died_on=args["died_on"])
                report.deaths += 1
            elif action.kind == WITHDRAW:
                ledger.withdraw(
                    participant_id, withdrawn_on=args["withdrawn_on"], reason=args["reason"]
                )
                report.withdrawals += 1
            elif action.kind == FILE:
                self.claim_ids[args["claim"]] = ledger.file_claim(
                    participant_id,
                    programme=args["programme"],
                    kind=args["kind"],
                    incident_date=args["incident_date"],
                    filed_on=args["filed_on"],
                    work_related=args["work_related"],
                    description=args["description"],
                )
                report.claims_filed += 1
            elif action.kind == APPROVE:
                ledger.approve_claim(
                    participant_id,
                    self.claim_ids[args["claim"]],
                    approved_on=args["approved_on"],
                    amount=args["amount"],
                )
                report.claims_approved += 1
            elif action.kind == REJECT:
                ledger.reject_claim(
                    participant_id,
                    self.claim_ids[args["claim"]],
                    reason=args["reason"],
                    rejected_on=args["rejected_on"],
                )
                report.claims_rejected += 1
            elif action.kind == PAY_CLAIM:
                ledger.pay_claim(
                    participant_id, self.claim_ids[args["claim"]], paid_on=args["paid_on"]
                )
                report.claims_paid += 1
            else:  # pragma: no cover
                raise AssertionError(f"unknown action {action.kind}")
        except LedgerError as error:
            self.refuse(action.kind_name, action.person, error)


__all__ = ["Refusal", "SeedError", "SeedReport", "seed_population"]
