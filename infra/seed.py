"""A synthetic population for demonstrations and load tests: `ledger seed`.

`plan_population` invents, from one `random.Random(seed)`, a village campaign's worth of
non-wage earners and `months` months of their history: enrollments in campaign waves,
monthly and advance payments, arrears paid in grace, lapses and reactivations, deaths,
withdrawals, claims, new income declarations and programme changes. The plan mirrors the
ledger's rules (`domain.coverage.settle`, the claim rules in `domain.participant`) so
that every fact it contains is one the ledger accepts.

`seed_population` replays the plan through the ledger's own commands: enrollments and
payments in batches (`enroll_many`, `record_contributions`), the rarer life events one
command each, all in date order. Any refusal is a bug in the generator, so refusals are
collected and raised at the end as `SeedError`.

The same seed gives the same people (NIKs, names, villages, incomes), payments and
claims; only the participant and claim ids, which the ledger draws at random, differ.
Meant for an empty ledger: seeding the same seed twice is refused.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.coverage import in_force
from domain.errors import LedgerError
from domain.ledger import EnrollmentResult, Ledger
from domain.regions import region_name, villages_by_province
from domain.rules import RuleBook, default_rule_book
from domain.values import Nik, Period

# --- reference figures for the generator (approximate; they only shape the sample) ----

# Population by province, millions (2020 census, rounded; Papua split as of 2022).
PROVINCE_POPULATION: dict[str, float] = {
    "11": 5.3, "12": 14.8, "13": 5.5, "14": 6.4, "15": 3.5, "16": 8.5, "17": 2.0,
    "18": 9.0, "19": 1.5, "21": 2.1, "31": 10.6, "32": 48.3, "33": 36.5, "34": 3.7,
    "35": 40.7, "36": 11.9, "51": 4.3, "52": 5.3, "53": 5.3, "61": 5.4, "62": 2.7,
    "63": 4.1, "64": 3.8, "65": 0.7, "71": 2.6, "72": 3.0, "73": 9.1, "74": 2.6,
    "75": 1.2, "76": 1.4, "81": 1.8, "82": 1.3, "91": 1.0, "92": 0.6, "93": 0.5,
    "94": 1.4, "95": 1.5, "96": 0.6,
}

MALE_NAMES = (
    "Agus", "Ahmad", "Andi", "Arif", "Asep", "Bambang", "Budi", "Dadang", "Dedi", "Eko",
    "Fajar", "Hendra", "Heru", "Imam", "Iwan", "Joko", "Ketut", "Made", "Markus", "Muhammad",
    "Nyoman", "Putu", "Rahmat", "Rudi", "Slamet", "Sugeng", "Syaiful", "Teguh", "Ujang",
    "Wahyu", "Yohanes", "Yusuf",
)
FEMALE_NAMES = (
    "Ani", "Ayu", "Dewi", "Dian", "Eka", "Endang", "Fitri", "Imas", "Indah", "Kartini",
    "Lestari", "Lilis", "Maria", "Neneng", "Ni Luh", "Nur", "Nurhayati", "Ratna", "Rina",
    "Siti", "Sri", "Sumiati", "Suryani", "Tuti", "Wati", "Wulan", "Yuni",
)
MALE_SECOND_NAMES = (
    "Gunawan", "Hidayat", "Kurniawan", "Nugroho", "Permana", "Pratama", "Purnomo",
    "Santoso", "Saputra", "Setiawan", "Suryadi", "Susanto", "Wijaya",
)
FEMALE_SECOND_NAMES = (
    "Aminah", "Handayani", "Kusumawati", "Lestari", "Rahayu", "Rahmawati", "Sulistyowati",
    "Wahyuni", "Susanti", "Purwanti",
)
FAMILY_NAMES = (  # clan names used by men and women alike
    "Daulay", "Harahap", "Hasibuan", "Lubis", "Manurung", "Nasution", "Pane", "Siregar",
    "Simanjuntak", "Sinaga", "Tanjung",
)

OCCUPATIONS: tuple[tuple[str, int], ...] = (
    ("farmer", 26), ("farm labourer", 7), ("fisher", 7), ("livestock breeder", 3),
    ("trader", 14), ("street vendor", 10), ("driver", 6), ("motorcycle taxi driver", 6),
    ("home worker", 7), ("construction helper", 6), ("tailor", 2), ("craftsman", 2),
    ("village helper", 2), ("domestic worker", 2),
)

# Indonesian mobile operators' prefixes (after the leading 0).
MOBILE_PREFIXES = ("811", "812", "813", "821", "822", "852", "853", "857", "858", "877",
                   "878", "895", "896", "897", "881", "882")

ENROLLMENT_CHANNELS = (("perisai", 70), ("village_office", 12), ("partner", 8),
                       ("branch_office", 5), ("online", 5))

# Payment habits: what share of the population behaves how.
BEHAVIOURS = (
    ("monthly", 44),    # pays every month
    ("ahead", 12),      # pays 3, 6 or 12 months at a time
    ("irregular", 16),  # misses 1-2 months now and then, pays the arrears in grace
    ("lapser", 12),     # stops for more than 3 months (lapsed), later reactivates
    ("dropout", 9),     # pays for a while, then stops for good
    ("never", 7),       # enrolled, never paid
)

DEATHS_PER_YEAR = 0.003
WITHDRAWALS_PER_YEAR = 0.01
WORK_ACCIDENTS_PER_YEAR = 0.02  # JKK medical or incapacity claims, covered members
INCOME_CHANGES_PER_YEAR = 0.04
PROGRAMME_CHANGES_PER_YEAR = 0.02
JHT_SHARE = 0.20

CLAIM_REJECTIONS = {
    "JKK": ("not work-related on investigation", "medical documents incomplete",
            "incident report not confirmed by the village office"),
    "JKM": ("heirs' documents incomplete", "death certificate does not match the NIK"),
}
WITHDRAWAL_REASONS = ("moved to wage employment", "moved abroad", "requested",
                      "joined a partner's group scheme")

# Actions, in the order they apply on one day.
PAY, INCOME, PROGRAMMES, DEATH, WITHDRAW, FILE, APPROVE, REJECT, PAY_CLAIM = range(9)
_KIND_NAMES = ("contribution", "declare_income", "change_programmes", "record_death",
               "withdraw", "file_claim", "approve_claim", "reject_claim", "pay_claim")


# --- the plan -----------------------------------------------------------------------------


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
            "nik": self.nik, "name": self.name, "birth_date": self.birth_date.isoformat(),
            "sex": self.sex, "phone": self.phone, "address": self.address,
            "village_code": self.village_code, "occupation": self.occupation,
            "declared_income": self.declared_income, "programmes": "+".join(self.programmes),
            "channel": self.channel, "agent_id": self.agent_id,
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


def plan_population(*, participants: int, months: int, seed: int, end: date,
                    rules: RuleBook | None = None) -> SeedPlan:
    """The people and their history, without touching a ledger: same seed, same plan."""
    if participants < 0:
        raise ValueError("participants must not be negative")
    if months < 1:
        raise ValueError("months must be at least 1")
    rules = rules or default_rule_book()
    first_day = (Period.containing(end) + -(months - 1)).first_day
    if first_day < rules.rulesets[0].valid_from:
        raise ValueError(f"{months} months back from {end.isoformat()} starts before the "
                         f"first programme rules ({rules.rulesets[0].valid_from.isoformat()})")
    return _Planner(participants=participants, months=months, seed=seed, end=end,
                    rules=rules).plan()


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _month_end(month: Period) -> date:
    return (month + 1).first_day - timedelta(days=1)


def _day_between(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def _per_month(per_year: float) -> float:
    return 1.0 - (1.0 - per_year) ** (1.0 / 12.0)


class _Planner:
    def __init__(self, *, participants: int, months: int, seed: int, end: date,
                 rules: RuleBook) -> None:
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
            _History(self, person).simulate()
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
            list(provinces), weights=[PROVINCE_POPULATION.get(p, 1.0) for p in provinces])[0]

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

    def _agent(self, regency: str) -> str:
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
                for _ in range(count))
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
            while _age(birth_date, enrolled_on) > 60:
                birth_date += timedelta(days=1)
            while _age(birth_date, enrolled_on) < 18:
                birth_date -= timedelta(days=1)
            # The ID card was issued where the person lived then: mostly this district.
            if rng.random() < 0.9:
                issue_district = code[:8]
            else:
                other = self._districts_of(self._province())
                issue_district = rng.choice(sorted(other))
            drafts.append((enrolled_on, i, {
                "village": code, "sex": sex, "birth_date": birth_date,
                "issue_district": issue_district,
            }))
        drafts.sort(key=lambda d: (d[0], d[1]))
        people: list[SeedPerson] = []
        for index, (enrolled_on, _, d) in enumerate(drafts):
            sex, birth_date, code = d["sex"], d["birth_date"], d["village"]
            channel = _weighted(rng, ENROLLMENT_CHANNELS)
            people.append(SeedPerson(
                index=index,
                nik=self._nik(d["issue_district"], birth_date, sex),
                name=self._name(sex),
                birth_date=birth_date,
                sex=sex,
                phone=self._phone(),
                address=f"RT {rng.randint(1, 15):03d}/RW {rng.randint(1, 9):03d}, "
                        f"{(region_name(code) or '').title()}",
                village_code=code,
                occupation=_weighted(rng, OCCUPATIONS),
                declared_income=self._income(),
                programmes=("JKK", "JKM", "JHT") if rng.random() < JHT_SHARE else ("JKK", "JKM"),
                channel=channel,
                agent_id=self._agent(code[:5]) if channel == "perisai" else None,
                enrolled_on=enrolled_on,
                behaviour=_weighted(rng, BEHAVIOURS),
            ))
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


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class _History:
    """One person's months, simulated in date order with the ledger's own rules."""

    def __init__(self, planner: _Planner, person: SeedPerson) -> None:
        self.planner = planner
        self.rng = planner.rng
        self.rules = planner.rules
        self.person = person
        first = Period.containing(person.enrolled_on)
        self.programmes: list[tuple[Period, tuple[str, ...], date]] = [
            (first, person.programmes, person.enrolled_on)]
        self.incomes: list[tuple[Period, int, date]] = [
            (first, person.declared_income, person.enrolled_on)]
        self.spans: list[tuple[date, Period, Period]] = []  # paid_on, first, last month
        self.paid_through: Period | None = None
        self.jht_balance = 0
        self.claims = 0
        self.ended = False  # died or withdrew
        rng = self.rng
        self.pay_day = rng.randint(1, 15) if rng.random() < 0.75 else rng.randint(16, 28)
        self.pay_channel = "perisai" if rng.random() < 0.4 else "bank"
        self.pay_agent = (person.agent_id or planner._agent(person.village_code[:5])
                          if self.pay_channel == "perisai" else None)
        self.ahead = rng.choice((3, 3, 6, 6, 12))
        self.skip = 0  # months still to miss
        months = planner.months
        self.stop_at = Period.containing(person.enrolled_on) + rng.randint(1, max(1, months - 1))
        self.lapse_for = rng.randint(3, 8)

    # --- the ledger's rules, mirrored ---------------------------------------------------

    def due(self, month: Period) -> tuple[int, int]:
        """The month's contribution in total and its JHT part (as `settle` computes it)."""
        programmes = in_force(self.programmes, month, None)
        income = in_force(self.incomes, month, None)
        by_programme = self.rules.for_month(month).monthly_contribution(income, programmes)
        return sum(by_programme.values()), by_programme.get("JHT", 0)

    def first_unpaid(self, paid_on: date) -> Period:
        """The month a payment on `paid_on` starts settling (`settle`'s `start`)."""
        current = Period.containing(paid_on)
        if self.paid_through is None:
            return max(current, Period.containing(self.person.enrolled_on))
        if current <= self.paid_through + self.rules.at(paid_on).grace_months:
            return self.paid_through + 1
        return current

    def covered(self, day: date) -> bool:
        month = Period.containing(day)
        return any(paid_on <= day and first <= month <= last
                   for paid_on, first, last in self.spans)

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
        hi = min(_month_end(month), end)
        # Today's candidates, applied in day order (payments first on a shared day).
        candidates: list[tuple[date, int]] = []
        paid_on = self.payment_day(month, lo)
        if paid_on is not None and paid_on <= hi:
            candidates.append((paid_on, PAY))
        if rng.random() < _per_month(INCOME_CHANGES_PER_YEAR):
            candidates.append((_day_between(rng, lo, hi), INCOME))
        if rng.random() < _per_month(PROGRAMME_CHANGES_PER_YEAR):
            candidates.append((_day_between(rng, lo, hi), PROGRAMMES))
        if rng.random() < _per_month(DEATHS_PER_YEAR):
            candidates.append((_day_between(rng, lo, hi), DEATH))
        elif rng.random() < _per_month(WITHDRAWALS_PER_YEAR):
            candidates.append((_day_between(rng, lo, hi), WITHDRAW))
        if rng.random() < _per_month(WORK_ACCIDENTS_PER_YEAR):
            candidates.append((_day_between(rng, lo, hi), FILE))
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
        if (behaviour == "ahead" and self.paid_through is not None
                and month <= self.paid_through
                and not (month == self.paid_through and rng.random() < 0.3)):
            return None
        if month == start_month and self.person.channel == "perisai" and rng.random() < 0.8:
            return self.person.enrolled_on  # the agent collects the first month at enrollment
        day = min(28, max(1, self.pay_day + rng.randint(-3, 3)))
        return max(lo, date(month.year, month.month, day))

    def pay(self, paid_on: date, month: Period) -> None:
        rng = self.rng
        start = self.first_unpaid(paid_on)
        ruleset = self.rules.at(paid_on)
        behind = month - start + 1  # months up to and including the current one
        if self.person.behaviour == "ahead":
            months = max(behind, 0) + self.ahead - (1 if behind > 0 else 0)
        elif behind <= 0:
            return  # already paid for this month
        elif behind > 1 and rng.random() < 0.25:
            months = behind - 1  # pays the arrears only, the current month next time
        else:
            months = behind
        months = min(months, month + ruleset.max_months_ahead - start + 1)
        if months <= 0:
            return
        amount = jht = 0
        for i in range(months):
            total, jht_part = self.due(start + i)
            amount += total
            jht += jht_part
        last = start + (months - 1)
        self.spans.append((paid_on, start, last))
        if self.paid_through is None or self.paid_through < last:
            self.paid_through = last
        self.jht_balance += jht
        channel = self.pay_channel if rng.random() < 0.9 else (
            "bank" if self.pay_channel == "perisai" else "perisai")
        agent = None
        if channel == "perisai":
            agent = self.pay_agent or self.planner._agent(self.person.village_code[:5])
        self.planner.add(paid_on, PAY, self.person, payment_ref=self.planner.payment_ref(),
                         amount=amount, paid_on=paid_on, channel=channel, agent_id=agent)

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
        self.planner.add(day, INCOME, self.person, declared_income=new,
                         from_month=str(from_month), declared_on=day)

    def change_programmes(self, day: date, month: Period) -> None:
        current = in_force(self.programmes, month, None)
        new = ("JKK", "JKM") if "JHT" in current else ("JKK", "JKM", "JHT")
        from_month = self._from_month(month)
        self.programmes.append((from_month, new, day))
        self.programmes.sort(key=lambda entry: entry[0])
        self.planner.add(day, PROGRAMMES, self.person, programmes="+".join(new),
                         from_month=str(from_month), changed_on=day)

    def die(self, day: date) -> None:
        rng, person = self.rng, self.person
        self.ended = True
        self.planner.add(day, DEATH, person, died_on=day)
        if self.covered(day) and rng.random() < 0.9:
            if rng.random() < 0.15:
                self.claim(day, "JKK", "death", work_related=True,
                           description="died in an accident at work")
            else:
                self.claim(day, "JKM", "death", work_related=False, description="died")
        if self.jht_balance > 0 and rng.random() < 0.9:
            self.claim(day, "JHT", "death", work_related=False,
                       description="JHT balance to the heirs")

    def withdraw(self, day: date) -> None:
        self.ended = True
        self.planner.add(day, WITHDRAW, self.person, withdrawn_on=day,
                         reason=self.rng.choice(WITHDRAWAL_REASONS))
        if self.jht_balance > 0:
            self.claim(day, "JHT", "withdrawal", work_related=False,
                       description="JHT balance on leaving the scheme")

    def work_accident(self, day: date) -> None:
        if not self.covered(day):
            return
        kind = "medical" if self.rng.random() < 0.8 else "temporary_incapacity"
        self.claim(day, "JKK", kind, work_related=True, description=f"work accident: {kind}")

    def claim(self, incident: date, programme: str, kind: str, *, work_related: bool,
              description: str) -> None:
        rng, end = self.rng, self.planner.end
        filed_on = incident + timedelta(days=rng.randint(0, 30))
        if filed_on > end:
            return  # not filed yet
        self.claims += 1
        key = f"{self.person.index}:{self.claims}"
        self.planner.add(filed_on, FILE, self.person, claim=key, programme=programme,
                         kind=kind, incident_date=incident, filed_on=filed_on,
                         work_related=work_related, description=description)
        decided_on = filed_on + timedelta(days=rng.randint(3, 30))
        if decided_on > end:
            return  # still open
        r = rng.random()
        reject_share = 0.0 if programme == "JHT" else (0.12 if programme == "JKK" else 0.06)
        if r < reject_share:
            self.planner.add(decided_on, REJECT, self.person, claim=key,
                             reason=rng.choice(CLAIM_REJECTIONS[programme]),
                             rejected_on=decided_on)
            return
        if r > 0.97:
            return  # still under review
        amount = None
        if programme == "JKK" and kind != "death":
            amount = min(20_000_000, max(1_000_000, int(round(
                1_000_000 * math.exp(rng.expovariate(0.9)), -3))))
        self.planner.add(decided_on, APPROVE, self.person, claim=key, approved_on=decided_on,
                         amount=amount)
        paid_on = decided_on + timedelta(days=rng.randint(1, 14))
        if paid_on <= end:
            self.planner.add(paid_on, PAY_CLAIM, self.person, claim=key, paid_on=paid_on)


# --- running the plan through the ledger --------------------------------------------------


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
            "seed": self.seed, "months": self.months, "first_month": self.first_month,
            "end": self.end.isoformat(), "participants": self.participants,
            "contributions": self.contributions,
            "contributions_amount": self.contributions_amount, "events": self.events,
            "deaths": self.deaths, "withdrawals": self.withdrawals,
            "income_declarations": self.income_declarations,
            "programme_changes": self.programme_changes, "claims_filed": self.claims_filed,
            "claims_approved": self.claims_approved, "claims_rejected": self.claims_rejected,
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

    def __init__(self, message: str, *, refusals: Sequence[Refusal] = (),
                 report: SeedReport | None = None) -> None:
        shown = "".join(f"\n  {r.what} (person {r.person}): [{r.code}] {r.message}"
                        for r in list(refusals)[:20])
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
        plan = plan_population(participants=participants, months=months, seed=seed, end=end,
                               rules=ledger.rules)
    elif (len(plan.people), plan.seed, plan.end) != (participants, seed, end):
        raise ValueError("the given plan is not this seed's: plan_population with the same arguments")
    planning_seconds = time.perf_counter() - started
    if plan.people and ledger.find_participant(plan.people[0].nik) is not None:
        raise SeedError(f"This ledger already holds seed {seed}'s population; "
                        "seed an empty ledger or use another seed.")
    report = SeedReport(seed=seed, months=months, first_month=str(plan.first_month), end=end,
                        planning_seconds=planning_seconds)
    run = _Run(ledger, plan, report, batch_size, progress)
    before = ledger.recorder.max_notification_id() or 0
    run.enroll()
    run.replay(chronological)
    report.events = (ledger.recorder.max_notification_id() or 0) - before
    report.niks = tuple(p.nik for p in plan.people)
    report.participant_ids = tuple(run.ids)
    report.elapsed_seconds = time.perf_counter() - started
    if run.refusals:
        raise SeedError(f"The ledger refused {len(run.refusals)} generated fact(s):",
                        refusals=run.refusals, report=report)
    return report


class _Run:
    def __init__(self, ledger: Ledger, plan: SeedPlan, report: SeedReport, batch_size: int,
                 progress: Callable[[int, int], None] | None) -> None:
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
            chunk = people[start:start + self.batch_size]
            outcomes = self.ledger.enroll_many([p.enrollment_row() for p in chunk])
            for person, outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, LedgerError):
                    self.refuse("enrollment", person.index, outcome)
                elif isinstance(outcome, EnrollmentResult) and outcome.replayed:
                    self.refuse("enrollment", person.index, LedgerError(
                        "already_enrolled", "This person was enrolled before this seed run."))
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
        rows = [{"participant_id": str(self.ids[a.person]), "payment_ref": a.args["payment_ref"],
                 "amount": a.args["amount"], "paid_on": a.args["paid_on"],
                 "channel": a.args["channel"], "agent_id": a.args["agent_id"]} for a in batch]
        outcomes = self.ledger.record_contributions(rows) if rows else []
        for action, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, LedgerError):
                self.refuse("contribution", action.person, outcome)
            elif outcome.replayed:
                self.refuse("contribution", action.person, LedgerError(
                    "payment_replayed", f"{action.args['payment_ref']} was recorded before."))
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
                ledger.declare_income(participant_id, declared_income=args["declared_income"],
                                      from_month=args["from_month"],
                                      declared_on=args["declared_on"])
                report.income_declarations += 1
            elif action.kind == PROGRAMMES:
                ledger.change_programmes(participant_id, programmes=args["programmes"],
                                         from_month=args["from_month"],
                                         changed_on=args["changed_on"])
                report.programme_changes += 1
            elif action.kind == DEATH:
                ledger.record_death(participant_id, died_on=args["died_on"])
                report.deaths += 1
            elif action.kind == WITHDRAW:
                ledger.withdraw(participant_id, withdrawn_on=args["withdrawn_on"],
                                reason=args["reason"])
                report.withdrawals += 1
            elif action.kind == FILE:
                self.claim_ids[args["claim"]] = ledger.file_claim(
                    participant_id, programme=args["programme"], kind=args["kind"],
                    incident_date=args["incident_date"], filed_on=args["filed_on"],
                    work_related=args["work_related"], description=args["description"])
                report.claims_filed += 1
            elif action.kind == APPROVE:
                ledger.approve_claim(participant_id, self.claim_ids[args["claim"]],
                                     approved_on=args["approved_on"], amount=args["amount"])
                report.claims_approved += 1
            elif action.kind == REJECT:
                ledger.reject_claim(participant_id, self.claim_ids[args["claim"]],
                                    reason=args["reason"], rejected_on=args["rejected_on"])
                report.claims_rejected += 1
            elif action.kind == PAY_CLAIM:
                ledger.pay_claim(participant_id, self.claim_ids[args["claim"]],
                                 paid_on=args["paid_on"])
                report.claims_paid += 1
            else:  # pragma: no cover
                raise AssertionError(f"unknown action {action.kind}")
        except LedgerError as error:
            self.refuse(action.kind_name, action.person, error)


__all__ = ["SeedError", "SeedPerson", "SeedPlan", "SeedReport", "plan_population",
           "seed_population"]
