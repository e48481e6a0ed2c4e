"""Valid inputs for tests, built from real region codes."""

from __future__ import annotations

import itertools
import re
from datetime import date
from importlib import resources
from typing import Any

from domain.rules import RuleBook
from domain.values import Nik

VILLAGE = "12.71.01.1001"  # Pasar Baru, a real kelurahan in Kota Medan
OTHER_VILLAGE = "32.76.01.1006"  # Depok, a real kelurahan in Kota Depok
_serials = itertools.count(1)


def new_nik(
    birth_date: date = date(1990, 5, 15), sex: str = "F", district: str = "12.71.01"
) -> str:
    return Nik.compose(district, birth_date, sex, next(_serials) % 9999 + 1).digits


def enrollment(**overrides: Any) -> dict[str, Any]:
    """An enrollment row that the ledger accepts; override any field."""
    birth_date = overrides.pop("birth_date", date(1990, 5, 15))
    sex = overrides.pop("sex", "F")
    row: dict[str, Any] = {
        "nik": new_nik(birth_date, sex),
        "name": "Siti Aminah",
        "birth_date": birth_date.isoformat(),
        "sex": sex,
        "phone": "081234567890",
        "village_code": VILLAGE,
        "occupation": "trader",
        "declared_income": 1_500_000,
        "programmes": "JKK+JKM",
        "channel": "perisai",
        "agent_id": "AG-0001",
        "enrolled_on": "2024-01-10",
    }
    row.update(overrides)
    return row


# Monthly contribution at Rp 1,500,000 declared income: JKK 1% of 1.5m + JKM 6,800.
MONTHLY_JKK_JKM_1_5M = 15_000 + 6_800


def rules_toml_with_grace(grace_months: int) -> str:
    """A copy of the shipped `programme_rules.toml` with every ruleset's grace changed."""
    text = resources.files("domain").joinpath("programme_rules.toml").read_text("utf-8")
    changed, count = re.subn(r"(?m)^grace_months = \d+", f"grace_months = {grace_months}", text)
    assert count >= 1, "programme_rules.toml has no grace_months line to change"
    return changed


def rule_book_with_grace(grace_months: int) -> RuleBook:
    """The shipped rule book, except for the months of grace."""
    return RuleBook.from_toml(rules_toml_with_grace(grace_months))
