"""The plan's shapes: invented people, the facts after their enrollment, and the kinds of
fact in the order they apply on one day; with the calendar helpers the planning shares."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.values import Period

# Actions, in the order they apply on one day.
PAY, INCOME, PROGRAMMES, DEATH, WITHDRAW, FILE, APPROVE, REJECT, PAY_CLAIM = range(9)
_KIND_NAMES = (
    "contribution",
    "declare_income",
    "change_programmes",
    "record_death",
    "withdraw",
    "file_claim",
    "approve_claim",
    "reject_claim",
    "pay_claim",
)


@dataclass(frozen=True)
class SeedPerson:
    """One invented worker, exactly as enrolled."""

    index: int
    nik: str
    name: str
    birth_date: date
    sex: str
    phone: str | None
    address: str
    village_code: str
    occupation: str
    declared_income: int
    programmes: tuple[str, ...]
    channel: str
    agent_id: str | None
    enrolled_on: date
    behaviour: str

    def enrollment_row(self) -> dict[str, Any]:
        return {
            "nik": self.nik,
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "phone": self.phone,
            "address": self.address,
            "village_code": self.village_code,
            "occupation": self.occupation,
            "declared_income": self.declared_income,
            "programmes": "+".join(self.programmes),
            "channel": self.channel,
            "agent_id": self.agent_id,
            "enrolled_on": self.enrolled_on.isoformat(),
        }


@dataclass(frozen=True)
class SeedAction:
    """One fact after enrollment: a payment, a life event or a step of a claim."""

    day: date
    kind: int  # PAY, INCOME, ... (also the order of actions on one day)
    person: int
    seq: int
    args: dict[str, Any]

    @property
    def sort_key(self) -> tuple[date, int, int, int]:
        return (self.day, self.kind, self.person, self.seq)

    @property
    def kind_name(self) -> str:
        return _KIND_NAMES[self.kind]


@dataclass
class SeedPlan:
    seed: int
    first_month: Period
    end: date
    people: list[SeedPerson]
    actions: list[SeedAction]  # in date order

    @property
    def payments(self) -> int:
        return sum(1 for a in self.actions if a.kind == PAY)


def weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def month_end(month: Period) -> date:
    return (month + 1).first_day - timedelta(days=1)


def day_between(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def per_month(per_year: float) -> float:
    return 1.0 - (1.0 - per_year) ** (1.0 / 12.0)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
