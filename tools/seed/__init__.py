"""A synthetic population for demonstrations and load tests: `ledger seed`.

`plan_population` invents, from one `random.Random(seed)`, a village campaign's worth of
non-wage earners and `months` months of their history: enrollments in campaign waves,
monthly and advance payments, arrears paid in grace, lapses and reactivations, deaths,
withdrawals, claims, new income declarations and programme changes. Payments are
planned with the domain's own functions and the ledger's rule book (the first unpaid
month, what months cost, how far ahead one may pay, whether a day is covered:
`domain.coverage`), and claims only where `domain.claims` allows them, so that every
fact in the plan is one the ledger accepts.

Modules: `model` (the plan's shapes), `figures` (reference figures), `plan` (people),
`history` (one person's months), `run` (through the ledger).

`seed_population` replays the plan through the ledger's own commands: enrollments and
payments in batches (`enroll_many`, `record_contributions`), the rarer life events one
command each, all in date order. Any refusal is a bug in the generator, so refusals are
collected and raised at the end as `SeedError`.

The same seed gives the same people (NIKs, names, villages, incomes), payments and
claims; only the participant and claim ids, which the ledger draws at random, differ.
Meant for an empty ledger: seeding the same seed twice is refused.
"""

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
    SeedPerson,
    SeedPlan,
)
from tools.seed.plan import plan_population
from tools.seed.run import Refusal, SeedError, SeedReport, seed_population

__all__ = [
    "APPROVE",
    "DEATH",
    "FILE",
    "INCOME",
    "PAY",
    "PAY_CLAIM",
    "PROGRAMMES",
    "REJECT",
    "WITHDRAW",
    "Refusal",
    "SeedAction",
    "SeedError",
    "SeedPerson",
    "SeedPlan",
    "SeedReport",
    "plan_population",
    "seed_population",
]
