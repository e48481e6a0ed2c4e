"""Valid inputs for tests, built from real region codes."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from domain.values import Nik

VILLAGE = "12.71.01.1001"  # Pasar Baru, a real kelurahan in Kota Medan
OTHER_VILLAGE = "32.76.01.1006"  # Depok, a real kelurahan in Kota Depok
_serials = itertools.count(1)


def new_nik(birth_date: date = date(1990, 5, 15), sex: str = "F", district: str = "12.71.01") -> str:
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
