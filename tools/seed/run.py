"""Running a plan through the ledger's own commands: `seed_population`.

Enrollments and payments go in batches (`enroll_many`, `record_contributions`), the rarer
life events one command each, all in date order. The plan's facts are parsed into typed
commands here, at the tool's edge, as a sheet's rows or a request's fields would be. Any
refusal is a bug in the generator, so refusals are collected and raised at the end as
`SeedError`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.commands import (
    ApproveClaim,
    ChangeProgrammes,
    Command,
    DeclareIncome,
    Enroll,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
    parse,
    run_parsed,
)
from domain.errors import LedgerError
from domain.ledger import EnrollmentResult, Ledger, PaymentResult
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
            rows = [p.enrollment_row() for p in chunk]
            outcomes = run_parsed(Enroll, rows, self.ledger.enroll_many)
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
        outcomes: Sequence[PaymentResult | LedgerError] = []
        if rows:
            outcomes = run_parsed(RecordContribution, rows, self.ledger.record_contributions)
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
        """One life event or claim step: its fields parsed into a typed command at this
        edge (as a CSV row or a request would be), then run by the ledger."""
        if action.person in self.failed:
            return
        participant_id = self.ids[action.person]
        assert participant_id is not None
        kind, counter = _COMMANDS[action.kind]
        fields = {k: v for k, v in action.args.items() if k != "claim"}
        if action.kind in _STEPS_OF_A_CLAIM:
            fields["claim_id"] = self.claim_ids[action.args["claim"]]
        try:
            done = self.ledger.execute(parse(kind, fields, participant_id=participant_id))
        except LedgerError as error:
            self.refuse(action.kind_name, action.person, error)
            return
        if action.kind == FILE:
            self.claim_ids[action.args["claim"]] = done.value
        setattr(self.report, counter, getattr(self.report, counter) + 1)


# The command each kind of action is, and the report's count of it.
_COMMANDS: dict[int, tuple[type[Command], str]] = {
    INCOME: (DeclareIncome, "income_declarations"),
    PROGRAMMES: (ChangeProgrammes, "programme_changes"),
    DEATH: (RecordDeath, "deaths"),
    WITHDRAW: (Withdraw, "withdrawals"),
    FILE: (FileClaim, "claims_filed"),
    APPROVE: (ApproveClaim, "claims_approved"),
    REJECT: (RejectClaim, "claims_rejected"),
    PAY_CLAIM: (PayClaim, "claims_paid"),
}
_STEPS_OF_A_CLAIM = (APPROVE, REJECT, PAY_CLAIM)  # name a claim filed earlier in the run

__all__ = ["Refusal", "SeedError", "SeedReport", "seed_population"]
