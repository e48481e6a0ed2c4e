"""Value objects of the scheme: months, programmes, channels, NIK, money.

Each parser raises `InvalidInputError` with a stable code, so every way in (CLI, CSV
import, HTTP) reports the same thing for the same mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import total_ordering
from typing import Any

from lokal import parse_nik

from domain.errors import InvalidInputError
from domain.text import clean_text, printable

_PERIOD = re.compile(r"(\d{4})-(\d{2})")

# The years a month or date of the scheme can fall in: birth dates of living workers to
# months paid far ahead. Outside them arithmetic would leave the calendar (year 0).
FIRST_YEAR, LAST_YEAR = 1900, 2999


@total_ordering
class Period:
    """A calendar month (`YYYY-MM`), counted as months since year 0 so arithmetic is cheap."""

    __slots__ = ("index",)
    index: int

    def __init__(self, index: int) -> None:
        object.__setattr__(self, "index", index)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Period is immutable")

    @classmethod
    def of(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise InvalidInputError("invalid_period", f"Month {month} is not between 1 and 12.")
        if not 1 <= year <= 9999:  # a month's days are dates: Python's dates end there
            raise InvalidInputError("invalid_period", f"Year {year} is not between 1 and 9999.")
        return cls(year * 12 + month - 1)

    @classmethod
    def containing(cls, day: date) -> Period:
        return cls(cls.index_of(day))

    @staticmethod
    def index_of(day: date) -> int:
        """`Period.containing(day).index` without making the Period (hot loops)."""
        return day.year * 12 + day.month - 1

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.fullmatch(text.strip())
        if not match:
            raise InvalidInputError(
                "invalid_period", f"'{printable(str(text))}' is not a month like 2025-03."
            )
        if not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
            raise InvalidInputError(
                "invalid_period", f"{match[0]} is not between {FIRST_YEAR}-01 and {LAST_YEAR}-12."
            )
        return cls.of(int(match[1]), int(match[2]))

    @property
    def year(self) -> int:
        return self.index // 12

    @property
    def month(self) -> int:
        return self.index % 12 + 1

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __add__(self, months: int) -> Period:
        return Period(self.index + months)

    def __sub__(self, other: Period) -> int:
        """Months from `other` to `self`."""
        return self.index - other.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Period) and other.index == self.index

    def __lt__(self, other: Period) -> bool:
        return self.index < other.index

    def __hash__(self) -> int:
        return hash(self.index)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"Period('{self}')"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Period, (self.index,))


class Programme(StrEnum):
    JKK = "JKK"  # work-accident cover, mandatory
    JKM = "JKM"  # death cover, mandatory
    JHT = "JHT"  # old-age savings, optional


MANDATORY_PROGRAMMES = (Programme.JKK, Programme.JKM)
PROGRAMME_ORDER = (Programme.JKK, Programme.JKM, Programme.JHT)


def parse_programmes(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`JKK+JKM` or `JKK+JKM+JHT` (any order, `+` or `,`) → canonical ordered tuple."""
    parts = re.split(r"[+,\s]+", value.strip()) if isinstance(value, str) else list(value)
    chosen: set[str] = set()
    for part in parts:
        if not part:
            continue
        code = part.strip().upper()
        if code not in Programme.__members__:
            raise InvalidInputError(
                "unknown_programme", f"'{part}' is not a programme (JKK, JKM or JHT)."
            )
        chosen.add(code)
    missing = [p.value for p in MANDATORY_PROGRAMMES if p.value not in chosen]
    if missing:
        raise InvalidInputError(
            "mandatory_programme_missing",
            f"JKK and JKM are mandatory for non-wage earners; missing {'+'.join(missing)}.",
        )
    return tuple(p.value for p in PROGRAMME_ORDER if p.value in chosen)


class Channel(StrEnum):
    """How a fact reached the ledger."""

    PERISAI = "perisai"  # field agent; the agent id is kept
    VILLAGE_OFFICE = "village_office"
    PARTNER = "partner"
    BRANCH_OFFICE = "branch_office"
    ONLINE = "online"
    BANK = "bank"


def parse_channel(value: str, agent_id: str | None) -> tuple[str, str | None]:
    code = value.strip().lower()
    if code not in {c.value for c in Channel}:
        choices = ", ".join(c.value for c in Channel)
        raise InvalidInputError("unknown_channel", f"'{value}' is not a channel ({choices}).")
    agent = clean_text(agent_id, field="agent id") or None
    if code == Channel.PERISAI and agent is None:
        raise InvalidInputError(
            "agent_id_required", "A Perisai (field agent) entry needs the agent's id."
        )
    if agent is not None and len(agent) > 64:
        raise InvalidInputError("invalid_agent_id", "An agent id is at most 64 characters.")
    return code, agent


class Segment(StrEnum):
    BPU = "BPU"  # non-wage earners: the only segment enrolled now
    PU = "PU"
    JAKON = "JAKON"
    PMI = "PMI"


def parse_segment(value: str) -> str:
    code = value.strip().upper()
    if code != Segment.BPU:
        raise InvalidInputError(
            "segment_not_supported", f"Only BPU (non-wage earners) are enrolled now, not '{value}'."
        )
    return code


def parse_sex(value: str) -> str:
    code = value.strip().upper()
    if code not in ("M", "F"):
        raise InvalidInputError("invalid_sex", f"Sex must be M or F, not '{value}'.")
    return code


def parse_rupiah(value: int | str, *, field: str = "amount") -> int:
    """Whole rupiah, strictly positive. Strings may carry thousands separators (`16.800`)."""
    if isinstance(value, bool):
        raise InvalidInputError("invalid_amount", f"The {field} must be a whole number of rupiah.")
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):
            text = re.sub(r"[.,]", "", text)
        if not re.fullmatch(r"-?\d+", text):
            raise InvalidInputError(
                "invalid_amount", f"The {field} '{value}' is not a whole number of rupiah."
            )
        value = int(text)
    if not isinstance(value, int):
        raise InvalidInputError("invalid_amount", f"The {field} must be a whole number of rupiah.")
    if value <= 0:
        raise InvalidInputError("invalid_amount", f"The {field} must be positive, not {value}.")
    if value > 10**13:
        raise InvalidInputError("invalid_amount", f"The {field} {value} is implausibly large.")
    return value


def parse_date(value: date | str, *, field: str) -> date:
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value.strip())
        except (ValueError, AttributeError):
            raise InvalidInputError(
                "invalid_date",
                f"The {field} '{printable(str(value))}' is not a date like 2025-03-31.",
            ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInputError(
            "invalid_date",
            f"The {field} {day.isoformat()} is not between {FIRST_YEAR} and {LAST_YEAR}.",
        )
    return day


@dataclass(frozen=True, slots=True)
class Nik:
    """A structurally valid NIK (Nomor Induk Kependudukan).

    16 digits: province, regency, district of issue, birth date DDMMYY with 40 added to
    the day for women, and a serial that is not 0000.
    """

    digits: str
    sex: str  # "M" or "F", from the day field
    birth_day: int
    birth_month: int
    birth_yy: int

    @classmethod
    def parse(cls, text: str) -> Nik:
        raw = str(text).strip()
        info = parse_nik(raw)
        if info.nik is None:
            raise InvalidInputError("invalid_nik", "A NIK has exactly 16 digits.")
        for issue in info.errors:
            code, message = _NIK_ERRORS.get(issue.code, ("invalid_nik", "The NIK is not valid."))
            # The century is only a guess from today's date; the real date check uses the
            # birth date given alongside, so only an impossible day/month is refused here.
            if issue.code == "birth_date" and _day_month_possible(info.nik):
                continue
            raise InvalidInputError(code, message)
        digits = info.nik
        day = int(digits[6:8])
        return cls(
            digits=digits,
            sex="F" if day > 40 else "M",
            birth_day=day - 40 if day > 40 else day,
            birth_month=int(digits[8:10]),
            birth_yy=int(digits[10:12]),
        )

    @classmethod
    def compose(cls, district_code: str, birth_date: date, sex: str, serial: int) -> Nik:
        """The NIK a district would issue: for generators and tests, never for real people."""
        day = birth_date.day + (40 if sex == "F" else 0)
        digits = (
            f"{district_code.replace('.', '')}{day:02d}{birth_date.month:02d}"
            f"{birth_date.year % 100:02d}{serial:04d}"
        )
        return cls.parse(digits)

    @property
    def province_code(self) -> str:
        return self.digits[:2]

    def check_person(self, *, sex: str, birth_date: date) -> None:
        """The NIK's day field must agree with the sex, and its date with the birth date."""
        if sex != self.sex:
            raise InvalidInputError(
                "nik_sex_mismatch",
                "The NIK's day field says "
                f"{'female' if self.sex == 'F' else 'male'}, but sex {sex} was given.",
            )
        if (birth_date.day, birth_date.month, birth_date.year % 100) != (
            self.birth_day,
            self.birth_month,
            self.birth_yy,
        ):
            raise InvalidInputError(
                "nik_birth_date_mismatch",
                f"The NIK encodes birth date {self.birth_day:02d}-{self.birth_month:02d}-"
                f"{self.birth_yy:02d} (DD-MM-YY), not {birth_date.isoformat()}.",
            )

    def __str__(self) -> str:
        return self.digits


_NIK_ERRORS = {
    "format": ("invalid_nik", "A NIK has exactly 16 digits."),
    "province": ("nik_unknown_province", "The NIK's first two digits are not a province."),
    "wilayah": ("invalid_nik", "The NIK's regency and district codes cannot be 00."),
    "birth_date": ("nik_invalid_birth_date", "The NIK's birth date field is not a real date."),
    "serial": ("invalid_nik", "The NIK's serial (last four digits) cannot be 0000."),
}


def _day_month_possible(digits: str) -> bool:
    """Whether DDMMYY is a real date in the 1900s or the 2000s (the century is not encoded)."""
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    day = day - 40 if day > 40 else day
    for century in (1900, 2000):
        try:
            date(century + yy, month, day)
        except ValueError:
            continue
        return True
    return False
