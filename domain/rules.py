"""Effective-dated programme rules: contribution rates, grace, claims.

The figures live in `programme_rules.toml` (data, not code). `RuleBook.at(day)` gives the
ruleset in force on a day; contributions for a month use the ruleset in force on the
month's first day, claims the one in force on the incident date.
"""

from __future__ import annotations

import bisect
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from domain.errors import InvalidInputError
from domain.values import Period, Programme


@dataclass(frozen=True, slots=True)
class Rate:
    bracket_basis_points: int
    flat: int

    def monthly(self, bracket: int) -> int:
        return bracket * self.bracket_basis_points // 10_000 + self.flat


@dataclass(frozen=True)
class RuleSet:
    valid_from: date
    name: str
    brackets: tuple[int, ...]  # ascending
    rates: dict[str, Rate]
    grace_months: int
    max_months_ahead: int
    waiting_days: dict[str, int]
    jkm_benefit: int
    jkm_early_death_months: int
    jkm_early_death_benefit: int
    jkk_death_income_multiple: int
    jht_claim_age: int
    perisai_commission_basis_points: int
    national_target_active: int

    def in_grace(self, months_unpaid: int) -> bool:
        """Whether arrears of that many unpaid months are still payable (cover not lapsed)."""
        return months_unpaid <= self.grace_months

    def bracket(self, declared_income: int) -> int:
        """The highest bracket not above the declared income (the lowest at minimum)."""
        i = bisect.bisect_right(self.brackets, declared_income)
        return self.brackets[max(i - 1, 0)]

    def monthly_contribution(
        self, declared_income: int, programmes: tuple[str, ...]
    ) -> dict[str, int]:
        bracket = self.bracket(declared_income)
        return {p: self.rates[p].monthly(bracket) for p in programmes}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RuleSet:
        brackets: list[int] = []
        for step in data["bracket_steps"]:
            brackets.extend(range(step["from"], step["to"] + 1, step["step"]))
        if brackets != sorted(set(brackets)):
            raise ValueError(f"brackets of ruleset {data['name']} are not ascending")
        claims = data["claims"]
        return cls(
            valid_from=data["valid_from"],
            name=data["name"],
            brackets=tuple(brackets),
            rates={p.value: Rate(**data["contribution"][p.value]) for p in Programme},
            grace_months=data["coverage"]["grace_months"],
            max_months_ahead=data["coverage"]["max_months_ahead"],
            waiting_days=dict(claims["waiting_days"]),
            jkm_benefit=claims["jkm_benefit"],
            jkm_early_death_months=claims["jkm_early_death_months"],
            jkm_early_death_benefit=claims["jkm_early_death_benefit"],
            jkk_death_income_multiple=claims["jkk_death_income_multiple"],
            jht_claim_age=claims["jht_claim_age"],
            perisai_commission_basis_points=data["channels"]["perisai_commission_basis_points"],
            national_target_active=data["targets"]["national_active"],
        )


class RuleBook:
    """All rulesets, ordered by `valid_from`."""

    def __init__(self, rulesets: list[RuleSet]) -> None:
        if not rulesets:
            raise ValueError("a rule book needs at least one ruleset")
        self.rulesets = sorted(rulesets, key=lambda r: r.valid_from)
        self._starts = [r.valid_from for r in self.rulesets]
        self._month_cache: dict[int, RuleSet] = {}

    @classmethod
    def from_toml(cls, text: str) -> RuleBook:
        return cls([RuleSet.from_data(d) for d in tomllib.loads(text)["ruleset"]])

    def at(self, day: date) -> RuleSet:
        i = bisect.bisect_right(self._starts, day)
        if i == 0:
            raise InvalidInputError(
                "before_scheme_rules",
                f"No programme rules were in force on {day.isoformat()} "
                f"(the first apply from {self._starts[0].isoformat()}).",
            )
        return self.rulesets[i - 1]

    def for_month(self, month: Period) -> RuleSet:
        rules = self._month_cache.get(month.index)
        if rules is None:
            rules = self._month_cache[month.index] = self.at(month.first_day)
        return rules


@cache
def default_rule_book() -> RuleBook:
    """The rules shipped with the code (`programme_rules.toml`)."""
    text = resources.files("domain").joinpath("programme_rules.toml").read_text("utf-8")
    return RuleBook.from_toml(text)
