"""The plan: invented people and the facts of their history, in date order.

`plan_population` draws everything from one `random.Random(seed)`: the same seed gives
the same people and facts. Each person's months are simulated by `tools.seed.history`
with the ledger's own rules, so the plan holds only facts the ledger accepts.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from domain.regions import region_name, villages_by_province
from domain.rules import RuleBook, default_rule_book
from domain.values import MANDATORY_PROGRAMMES, PROGRAMME_ORDER, Nik, Period
from tools.seed.figures import (
    BEHAVIOURS,
    ENROLLMENT_CHANNELS,
    FAMILY_NAMES,
    FEMALE_NAMES,
    FEMALE_SECOND_NAMES,
    JHT_SHARE,
    MALE_NAMES,
    MALE_SECOND_NAMES,
    MOBILE_PREFIXES,
    OCCUPATIONS,
    PROVINCE_POPULATION,
)
from tools.seed.history import History
from tools.seed.model import SeedAction, SeedPerson, SeedPlan, age_on, weighted


def plan_population(
    *, participants: int, months: int, seed: int, end: date, rules: RuleBook | None = None
) -> SeedPlan:
    """The people and their history, without touching a ledger: same seed, same plan."""
    if participants < 0:
        raise ValueError("participants must not be negative")
    if months < 1:
        raise ValueError("months must be at least 1")
    rules = rules or default_rule_book()
    first_day = (Period.containing(end) + -(months - 1)).first_day
    if first_day < rules.rulesets[0].valid_from:
        raise ValueError(
            f"{months} months back from {end.isoformat()} starts before the "
            f"first programme rules ({rules.rulesets[0].valid_from.isoformat()})"
        )
    return Planner(participants=participants, months=months, seed=seed, end=end, rules=rules).plan()


class Planner:
    """Invents the people, then has each one's history simulated; collects the facts."""

    def __init__(
        self, *, participants: int, months: int, seed: int, end: date, rules: RuleBook
    ) -> None:
        self.n = participants
        self.months = months
        self.seed = seed
        self.end = end
        self.rules = rules
        self.rng = random.Random(seed)
        self.end_month = Period.containing(end)
        self.first_month = self.end_month + -(months - 1)
        self.start = self.first_month.first_day
        self.agents: dict[str, list[str]] = {}
        self.serials: dict[tuple[str, date, str], int] = defaultdict(int)
        self.serial_base = self.rng.randrange(9999)  # different seeds, different serials
        self.actions: list[SeedAction] = []
        self.seq = 0
        self._districts: dict[str, dict[str, list[str]]] = {}

    # --- people -------------------------------------------------------------------------

    def plan(self) -> SeedPlan:
        people = self._people()
        for person in people:
            History(self, person).simulate()
        self.actions.sort(key=lambda a: a.sort_key)
        return SeedPlan(self.seed, self.first_month, self.end, people, self.actions)

    def _districts_of(self, province: str) -> dict[str, list[str]]:
        grouped = self._districts.get(province)
        if grouped is None:
            grouped = {}
            for code in villages_by_province()[province]:
                grouped.setdefault(code[:8], []).append(code)
            self._districts[province] = grouped
        return grouped

    def _province(self) -> str:
        provinces = villages_by_province()
        return self.rng.choices(
            list(provinces), weights=[PROVINCE_POPULATION.get(p, 1.0) for p in provinces]
        )[0]

    def _villages(self) -> list[tuple[str, float]]:
        """The campaign's villages, a few per district, with their relative sizes."""
        rng = self.rng
        wanted = max(1, round(self.n / rng.uniform(50, 200)))
        chosen: list[str] = []
        seen: set[str] = set()  # `chosen` as a set: a list scan per village is quadratic at 1M
        while len(chosen) < wanted:
            province = self._province()
            districts = self._districts_of(province)
            district = rng.choice(sorted(districts))
            pool = [v for v in districts[district] if v not in seen]
            take = min(len(pool), rng.randint(2, 5), wanted - len(chosen))
            picked = rng.sample(pool, take)
            chosen.extend(picked)
            seen.update(picked)
        return [(v, rng.lognormvariate(0.0, 0.5)) for v in chosen]

    def agent(self, regency: str) -> str:
        pool = self.agents.get(regency)
        if pool is None:
            size = self.rng.randint(3, 12)
            digits = regency.replace(".", "")
            pool = self.agents[regency] = [f"AG-{digits}-{i:03d}" for i in range(1, size + 1)]
        return self.rng.choice(pool)

    def _nik(self, district: str, birth_date: date, sex: str) -> str:
        key = (district, birth_date, sex)
        self.serials[key] += 1
        if self.serials[key] > 9999:
            raise ValueError(f"more than 9,999 people born {birth_date} in {district}")
        serial = (self.serial_base + self.serials[key] - 1) % 9999 + 1
        return Nik.compose(district, birth_date, sex, serial).digits

    def _people(self) -> list[SeedPerson]:
        rng = self.rng
        if self.n == 0:
            return []
        villages = self._villages()
        total_days = (self.end - self.start).days
        # Campaign waves per village: one or two, front-loaded over the period.
        waves: dict[str, list[date]] = {}
        for code, _ in villages:
            count = 1 if rng.random() < 0.6 else 2
            waves[code] = sorted(
                self.start + timedelta(days=int(total_days * rng.random() ** 2))
                for _ in range(count)
            )
        codes = [v for v, _ in villages]
        # Cumulative once: `choices(weights=...)` would sum all villages' weights per person
        # (quadratic at a million people); the draws are the same.
        cumulative = list(itertools.accumulate(w for _, w in villages))
        drafts: list[tuple[date, int, dict[str, Any]]] = []
        for i in range(self.n):
            code = rng.choices(codes, cum_weights=cumulative)[0]
            wave = rng.choice(waves[code])
            enrolled_on = min(wave + timedelta(days=int(rng.expovariate(1 / 6))), self.end)
            sex = "F" if rng.random() < 0.45 else "M"
            age_days = int(rng.triangular(18.0, 61.0, 33.0) * 365.25)
            birth_date = enrolled_on - timedelta(days=age_days)
            while age_on(birth_date, enrolled_on) > 60:
                birth_date += timedelta(days=1)
            while age_on(birth_date, enrolled_on) < 18:
                birth_date -= timedelta(days=1)
            # The ID card was issued where the person lived then: mostly this district.
            if rng.random() < 0.9:
                issue_district = code[:8]
            else:
                other = self._districts_of(self._province())
                issue_district = rng.choice(sorted(other))
            drafts.append(
                (
                    enrolled_on,
                    i,
                    {
                        "village": code,
                        "sex": sex,
                        "birth_date": birth_date,
                        "issue_district": issue_district,
                    },
                )
            )
        drafts.sort(key=lambda d: (d[0], d[1]))
        people: list[SeedPerson] = []
        for index, (enrolled_on, _, d) in enumerate(drafts):
            sex, birth_date, code = d["sex"], d["birth_date"], d["village"]
            channel = weighted(rng, ENROLLMENT_CHANNELS)
            people.append(
                SeedPerson(
                    index=index,
                    nik=self._nik(d["issue_district"], birth_date, sex),
                    name=self._name(sex),
                    birth_date=birth_date,
                    sex=sex,
                    phone=self._phone(),
                    address=f"RT {rng.randint(1, 15):03d}/RW {rng.randint(1, 9):03d}, "
                    f"{(region_name(code) or '').title()}",
                    village_code=code,
                    occupation=weighted(rng, OCCUPATIONS),
                    declared_income=self._income(),
                    programmes=(
                        PROGRAMME_ORDER if rng.random() < JHT_SHARE else MANDATORY_PROGRAMMES
                    ),
                    channel=channel,
                    agent_id=self.agent(code[:5]) if channel == "perisai" else None,
                    enrolled_on=enrolled_on,
                    behaviour=weighted(rng, BEHAVIOURS),
                )
            )
        return people

    def _name(self, sex: str) -> str:
        rng = self.rng
        first = rng.choice(MALE_NAMES if sex == "M" else FEMALE_NAMES)
        r = rng.random()
        if r < 0.25:
            return first
        if r < 0.4:
            return f"{first} {rng.choice(FAMILY_NAMES)}"
        return f"{first} {rng.choice(MALE_SECOND_NAMES if sex == 'M' else FEMALE_SECOND_NAMES)}"

    def _phone(self) -> str | None:
        rng = self.rng
        if rng.random() < 0.08:
            return None
        digits = "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(7, 9)))
        return f"0{rng.choice(MOBILE_PREFIXES)}{digits}"

    def _income(self) -> int:
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            return rng.randrange(1_000_000, 2_000_001, 50_000)
        if r < 0.88:
            return rng.randrange(2_000_000, 3_000_001, 100_000)
        tail = 3_000_000 * math.exp(rng.expovariate(1.1))
        return min(20_700_000, int(round(tail, -5)))

    # --- actions ------------------------------------------------------------------------

    def add(self, day: date, action: int, person: SeedPerson, /, **args: Any) -> None:
        self.seq += 1
        self.actions.append(SeedAction(day, action, person.index, self.seq, args))

    def payment_ref(self) -> str:
        self.seq += 1
        return f"SEED-{self.seed}-{self.seq:09d}"
