"""Free text (issue 20, item 5) and region codes (item 8): the domain's rules, no I/O."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.commands import CorrectDetails, Enroll, FileClaim, Withdraw, parse, run_parsed
from domain.errors import InvalidInputError, LedgerError
from domain.ledger import Ledger
from domain.regions import parse_region
from domain.text import clean_text, has_control_characters, printable
from tests.factories import enrollment

CONTROLS = [
    "\x00",
    "\x07",
    "\x1b",
    "\n",
    "\r",
    "\t",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u202e",
    "\u2066",
]

# Letters, marks, digits, punctuation, symbols and spaces of any script.
ORDINARY = st.text(
    st.characters(categories=("L", "M", "N", "P", "S", "Zs"), exclude_characters="\u2028\u2029"),
    max_size=40,
)


@given(ORDINARY)
def test_ordinary_text_of_any_script_is_kept(text: str) -> None:
    assert clean_text(text, field="name") == text.strip()
    assert printable(text) == text.replace("\\", "\\\\")


@given(ORDINARY, st.sampled_from(CONTROLS), ORDINARY)
def test_a_control_character_anywhere_is_refused(before: str, control: str, after: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        clean_text(before + control + after, field="name")
    assert refused.value.code == "control_characters"
    assert control not in refused.value.message  # the message itself is safe to print


@given(st.text(max_size=60))
def test_printable_output_holds_no_control_character(text: str) -> None:
    shown = printable(text)
    assert not has_control_characters(shown)
    assert all(unicodedata.category(c) != "Cc" for c in shown)
    if not has_control_characters(text) and "\\" not in text:
        assert shown == text


def test_printable_shows_escapes_visibly() -> None:
    assert printable("Siti\x1b[31m") == "Siti\\x1b[31m"
    assert printable("a\u202eb\\") == "a\\u202eb\\\\"
    assert printable("Dewi Lestari — São Tomé 日本") == "Dewi Lestari — São Tomé 日本"


@pytest.mark.parametrize("field", ["name", "occupation", "address", "agent_id", "phone"])
@pytest.mark.parametrize("control", ["\x00", "\x1b[31m", "\x07", "\u202e"])
def test_every_enrollment_text_field_refuses_control_characters(
    field: str, control: str, ledger: Ledger
) -> None:
    row = enrollment()
    row[field] = "Siti" + control + "Aminah"
    (outcome,) = run_parsed(Enroll, [row], ledger.enroll_many)  # as an import runs it
    assert isinstance(outcome, LedgerError)
    assert outcome.code == "control_characters"
    assert ledger.recorder.max_notification_id() in (None, 0)


def test_claim_and_withdrawal_text_refuse_control_characters(ledger: Ledger) -> None:
    participant_id = ledger.enroll(parse(Enroll, enrollment()))
    before = ledger.recorder.max_notification_id()
    with pytest.raises(InvalidInputError) as refused:
        ledger.withdraw(
            parse(
                Withdraw,
                participant_id=participant_id,
                withdrawn_on="2024-02-01",
                reason="moved\x00away",
            )
        )
    assert refused.value.code == "control_characters"
    with pytest.raises(InvalidInputError) as refused:
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=participant_id,
                programme="JKK",
                kind="injury",
                incident_date="2024-02-01",
                description="fell\x1b[2J",
            )
        )
    assert refused.value.code == "control_characters"
    with pytest.raises(InvalidInputError) as refused:
        ledger.correct_details(
            parse(CorrectDetails, participant_id=participant_id, name="Siti\x00")
        )
    assert refused.value.code == "control_characters"
    assert ledger.recorder.max_notification_id() == before


@pytest.mark.parametrize(
    ("given_code", "expected"),
    [
        ("33", "33"),
        ("3321", "33.21"),
        ("33.21", "33.21"),
        ("332101", "33.21.01"),
        (" 33.21.01 ", "33.21.01"),
        ("1271011001", "12.71.01.1001"),
        ("12.71.01.1001", "12.71.01.1001"),
    ],
)
def test_existing_regions_parse_to_their_dotted_code(given_code: str, expected: str) -> None:
    assert parse_region(given_code) == expected


@pytest.mark.parametrize("code", ["99", "33.99", "33.21.99", "12.71.01.9999", "00"])
def test_unknown_regions_are_refused(code: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_region(code)
    assert refused.value.code == "unknown_region"


@pytest.mark.parametrize(
    "code", ["nonsense", "3", "333", "33.2", "33..21", "33.21.01.1", "\x1b[31m", "33\x00"]
)
def test_malformed_regions_are_refused(code: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_region(code)
    assert refused.value.code == "invalid_region"
    assert "\x1b" not in refused.value.message and "\x00" not in refused.value.message
