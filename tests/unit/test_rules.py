"""Programme rules: income brackets, monthly contributions, effective dating."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.commands import Enroll, RecordContribution, parse
from domain.errors import InvalidInputError
from domain.rules import RuleBook, default_rule_book
from domain.values import Period
from tests.factories import enrollment

LOWEST, TOP = 1_000_000, 20_700_000


@pytest.fixture(scope="module")
def rules():
    return default_rule_book().at(date(2025, 1, 1))


# --- brackets --------------------------------------------------------------------------


def test_brackets_run_from_the_lowest_to_the_top(rules) -> None:
    assert rules.brackets[0] == LOWEST
    assert rules.brackets[-1] == TOP
    assert list(rules.brackets) == sorted(set(rules.brackets))
    # (model) Rp 100,000 steps up to Rp 2,000,000, then Rp 500,000 steps.
    assert 1_900_000 in rules.brackets and 2_000_000 in rules.brackets
    assert 2_100_000 not in rules.brackets and 2_500_000 in rules.brackets


@pytest.mark.parametrize(
    ("income", "bracket"),
    [
        (0, LOWEST),  # below the lowest: the lowest
        (1, LOWEST),
        (500_000, LOWEST),
        (999_999, LOWEST),
        (1_000_000, 1_000_000),  # exactly on a bracket
        (1_500_000, 1_500_000),
        (2_000_000, 2_000_000),
        (2_500_000, 2_500_000),
        (20_500_000, 20_500_000),
        (20_700_000, TOP),
        (1_000_001, 1_000_000),  # between brackets: the lower
        (1_550_000, 1_500_000),
        (1_999_999, 1_900_000),
        (2_499_999, 2_000_000),
        (3_750_000, 3_500_000),
        (20_699_999, 20_500_000),
        (20_700_001, TOP),  # above the top: the top
        (100_000_000, TOP),
    ],
)
def test_bracket_placement(rules, income: int, bracket: int) -> None:
    assert rules.bracket(income) == bracket


@settings(max_examples=100, deadline=None)
@given(income=st.integers(min_value=0, max_value=50_000_000))
def test_bracket_is_the_highest_not_above_the_income(income: int) -> None:
    rules = default_rule_book().at(date(2025, 1, 1))
    bracket = rules.bracket(income)
    assert bracket in rules.brackets
    assert bracket <= max(income, LOWEST)
    assert all(b <= bracket for b in rules.brackets if b <= max(income, LOWEST))


# --- monthly contributions -------------------------------------------------------------


def test_contribution_at_the_lowest_bracket(rules) -> None:
    due = rules.monthly_contribution(500_000, ("JKK", "JKM"))
    assert due == {"JKK": 10_000, "JKM": 6_800}
    assert sum(due.values()) == 16_800
    assert rules.monthly_contribution(1_000_000, ("JKK", "JKM", "JHT")) == {
        "JKK": 10_000,
        "JKM": 6_800,
        "JHT": 20_000,
    }


def test_contribution_at_the_highest_bracket(rules) -> None:
    due = rules.monthly_contribution(30_000_000, ("JKK", "JKM", "JHT"))
    assert due == {"JKK": 207_000, "JKM": 6_800, "JHT": 414_000}


def test_contribution_in_the_middle(rules) -> None:
    assert rules.monthly_contribution(1_550_000, ("JKK", "JKM")) == {"JKK": 15_000, "JKM": 6_800}


def test_other_figures_of_the_shipped_rules(rules) -> None:
    assert rules.grace_months == 3
    assert rules.max_months_ahead == 12
    assert rules.jkm_benefit == 42_000_000
    assert rules.jkm_early_death_benefit == 10_000_000
    assert rules.jkm_early_death_months == 3
    assert rules.jkk_death_income_multiple == 48
    assert rules.jht_claim_age == 56
    assert rules.perisai_commission_basis_points == 750


def test_no_rules_before_the_scheme() -> None:
    with pytest.raises(InvalidInputError) as info:
        default_rule_book().at(date(2015, 6, 30))
    assert info.value.code == "before_scheme_rules"
    assert default_rule_book().at(date(2015, 7, 1)).valid_from == date(2015, 7, 1)


# --- effective dating ------------------------------------------------------------------


def _ruleset(valid_from: str, name: str, jkm_flat: int) -> str:
    return f"""
[[ruleset]]
valid_from = {valid_from}
name = "{name}"
bracket_steps = [
  {{ from = 1_000_000, to = 2_000_000, step = 100_000 }},
  {{ from = 2_500_000, to = 20_500_000, step = 500_000 }},
  {{ from = 20_700_000, to = 20_700_000, step = 1 }},
]
[ruleset.contribution.JKK]
bracket_basis_points = 100
flat = 0
[ruleset.contribution.JKM]
bracket_basis_points = 0
flat = {jkm_flat}
[ruleset.contribution.JHT]
bracket_basis_points = 200
flat = 0
[ruleset.coverage]
grace_months = 3
max_months_ahead = 12
[ruleset.claims]
waiting_days = {{ JKK = 0, JKM = 0, JHT = 0 }}
jkm_benefit = 42_000_000
jkm_early_death_months = 3
jkm_early_death_benefit = 10_000_000
jkk_death_income_multiple = 48
jht_claim_age = 56
[ruleset.targets]
national_active = 70_000_000
[ruleset.channels]
perisai_commission_basis_points = 750
"""


# Listed newest first on purpose: the book orders rulesets by valid_from.
TWO_RULESETS = _ruleset("2025-01-01", "JKM raised", 10_000) + _ruleset(
    "2015-07-01", "original", 6_800
)


@pytest.fixture(scope="module")
def two_rulesets() -> RuleBook:
    return RuleBook.from_toml(TWO_RULESETS)


@pytest.mark.parametrize(
    ("month", "name", "jkm"),
    [
        ("2015-07", "original", 6_800),
        ("2024-11", "original", 6_800),
        ("2024-12", "original", 6_800),
        ("2025-01", "JKM raised", 10_000),
        ("2030-06", "JKM raised", 10_000),
    ],
)
def test_for_month_picks_the_ruleset_in_force(
    two_rulesets: RuleBook, month: str, name: str, jkm: int
) -> None:
    ruleset = two_rulesets.for_month(Period.parse(month))
    assert ruleset.name == name
    assert ruleset.monthly_contribution(1_500_000, ("JKK", "JKM")) == {"JKK": 15_000, "JKM": jkm}
    # asked twice (the month cache) the answer is the same
    assert two_rulesets.for_month(Period.parse(month)) is ruleset


def test_at_switches_on_the_valid_from_day(two_rulesets: RuleBook) -> None:
    assert two_rulesets.at(date(2024, 12, 31)).name == "original"
    assert two_rulesets.at(date(2025, 1, 1)).name == "JKM raised"


def test_a_payment_spanning_a_rule_change_uses_each_months_rate(
    make_ledger, refused, two_rulesets: RuleBook
) -> None:
    ledger = make_ledger(rules=two_rulesets, today=date(2025, 3, 31))
    pid = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2024-11-05")))  # 1.5m: JKK 15,000
    ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref="nov",
            participant_id=str(pid),
            amount=21_800,
            paid_on="2024-11-10",
            channel="bank",
        )
    )
    old_rate_twice = 2 * (15_000 + 6_800)
    with refused(ledger, "amount_not_whole_months"):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref="dec-jan-wrong",
                participant_id=str(pid),
                amount=old_rate_twice,
                paid_on="2024-12-10",
                channel="bank",
            )
        )
    with refused(ledger, "amount_not_whole_months"):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref="dec-jan-wrong2",
                participant_id=str(pid),
                amount=2 * (15_000 + 10_000),
                paid_on="2024-12-10",
                channel="bank",
            )
        )
    result = ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref="dec-jan",
            participant_id=str(pid),
            amount=(15_000 + 6_800) + (15_000 + 10_000),
            paid_on="2024-12-10",
            channel="bank",
        )
    )
    assert (str(result.first_month), result.months) == ("2024-12", 2)
    paid = [e for e in ledger.get_history(pid) if type(e).__name__ == "ContributionPaid"][-1]
    assert paid.by_programme == {"JKK": 30_000, "JKM": 6_800 + 10_000}
    # February onwards at the new rate only
    with refused(ledger, "amount_not_whole_months"):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref="feb-wrong",
                participant_id=str(pid),
                amount=21_800,
                paid_on="2025-02-10",
                channel="bank",
            )
        )
    ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref="feb",
            participant_id=str(pid),
            amount=25_000,
            paid_on="2025-02-10",
            channel="bank",
        )
    )
    assert ledger.get_status(pid, "2025-02-28").status == "active"
