"""Typed commands: one parser per command turns strings into typed values, refusing a
malformed field with the code every way in shares; the Ledger itself parses nothing."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, get_args
from uuid import uuid4

import pytest

from domain.commands import (
    PARSERS,
    ApproveClaim,
    ChangeProgrammes,
    Command,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
    parse,
    run_parsed,
)
from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.values import Nik, Period
from tests.factories import enrollment

ROOT = Path(__file__).resolve().parents[2]
PID = uuid4()


def test_every_command_has_exactly_one_parser() -> None:
    assert set(PARSERS) == set(get_args(Command))
    assert len(PARSERS) == 12


def test_an_enrollment_row_becomes_typed_values() -> None:
    row = enrollment(
        village_code="1271011001",
        declared_income="1.500.000",
        programmes="jht, JKK+jkm",
        phone="0812-3456-7890",
        enrolled_on="",
    )

    command = parse(Enroll, row)

    assert isinstance(command.nik, Nik) and command.nik.digits == row["nik"]
    assert command.birth_date == date(1990, 5, 15)
    assert command.village == "12.71.01.1001"
    assert command.programmes == ("JKK", "JKM", "JHT")
    assert command.declared_income == 1_500_000
    assert command.phone == "+6281234567890"
    assert command.enrolled_on is None  # left out: the ledger's today
    # JSON-typed values give the same command as the CSV's strings
    assert parse(Enroll, {**row, "declared_income": 1_500_000}) == command


def test_a_payment_names_its_participant_by_id_or_by_nik() -> None:
    by_id = parse(
        RecordContribution,
        payment_ref=" R-1 ",
        participant_id=str(PID),
        amount="21.800",
        paid_on="2024-02-05",
        channel="BANK",
    )
    nik = enrollment()["nik"]
    by_nik = parse(
        RecordContribution,
        payment_ref="R-1",
        nik=nik,
        amount=21_800,
        channel="perisai",
        agent_id=" AG-1 ",
    )

    assert (by_id.participant_id, by_id.nik, by_id.payment_ref) == (PID, None, "R-1")
    assert (by_id.amount, by_id.paid_on, by_id.channel) == (21_800, date(2024, 2, 5), "bank")
    assert by_nik.participant_id is None and by_nik.nik == Nik.parse(nik)
    assert (by_nik.agent_id, by_nik.paid_on) == ("AG-1", None)


def test_the_other_commands_parse_to_typed_values() -> None:
    claim = uuid4()
    assert parse(
        DeclareIncome, participant_id=str(PID), declared_income="2000000", from_month="2024-03"
    ) == DeclareIncome(PID, 2_000_000, Period.of(2024, 3))
    assert parse(
        ChangeProgrammes,
        participant_id=PID,
        programmes=["JKK", "JKM", "JHT"],
        from_month=Period.of(2024, 3),
        changed_on="2024-02-20",
    ) == ChangeProgrammes(PID, ("JKK", "JKM", "JHT"), Period.of(2024, 3), date(2024, 2, 20))
    assert parse(
        CorrectDetails, participant_id=PID, name=" Siti ", phone="", village_code="3276011006"
    ) == CorrectDetails(PID, {"name": "Siti", "phone": None}, village="32.76.01.1006")
    assert parse(RecordDeath, participant_id=PID, died_on="2024-05-01") == RecordDeath(
        PID, date(2024, 5, 1)
    )
    assert parse(Withdraw, participant_id=PID, reason="  ") == Withdraw(PID, "requested")
    assert parse(
        FileClaim,
        participant_id=PID,
        programme=" jkk ",
        kind="Medical",
        incident_date="2024-03-05",
        work_related="yes",
    ) == FileClaim(PID, "JKK", "medical", date(2024, 3, 5), work_related=True)
    assert parse(ApproveClaim, participant_id=PID, claim_id=str(claim), amount="") == (
        ApproveClaim(PID, claim)
    )
    assert parse(RejectClaim, participant_id=PID, claim_id=claim, reason=" late ") == (
        RejectClaim(PID, claim, "late")
    )
    assert parse(PayClaim, participant_id=PID, claim_id=claim, paid_on="2024-03-12") == (
        PayClaim(PID, claim, date(2024, 3, 12))
    )
    assert parse(ErasePersonalData, participant_id=str(PID)) == ErasePersonalData(PID)


@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        (Enroll, enrollment(nik=""), "missing_nik"),
        (Enroll, enrollment(nik="12710155059"), "invalid_nik"),
        (Enroll, enrollment(name="x" * 201), "invalid_name"),
        (Enroll, {**enrollment(), "birth_date": "15-05-1990"}, "invalid_date"),
        (Enroll, {**enrollment(), "sex": "M"}, "nik_sex_mismatch"),
        (Enroll, enrollment(enrolled_on="2024-13-01"), "invalid_date"),
        (Enroll, enrollment(channel="fax"), "unknown_channel"),
        (Enroll, enrollment(agent_id=""), "agent_id_required"),
        (Enroll, enrollment(phone="12345"), "invalid_phone"),
        (Enroll, enrollment(village_code="12.71.01.9999"), "unknown_village"),
        (Enroll, enrollment(occupation=""), "invalid_occupation"),
        (Enroll, enrollment(segment="PU"), "segment_not_supported"),
        (Enroll, enrollment(programmes="JKK"), "mandatory_programme_missing"),
        (Enroll, enrollment(declared_income="-5"), "invalid_amount"),
        (RecordContribution, {"payment_ref": "x" * 65}, "invalid_payment_ref"),
        (RecordContribution, {"payment_ref": "R", "amount": "12,5"}, "invalid_amount"),
        (
            RecordContribution,
            {"payment_ref": "R", "amount": 1, "channel": "bank", "participant_id": "nobody"},
            "invalid_participant_id",
        ),
        (RecordContribution, {"payment_ref": "R", "amount": 1, "channel": "bank"}, "missing_nik"),
        (
            DeclareIncome,
            {"participant_id": PID, "declared_income": 1, "from_month": "2024-3"},
            "invalid_period",
        ),
        (
            ChangeProgrammes,
            {"participant_id": PID, "programmes": "JKK+JKM+JKP", "from_month": "2024-03"},
            "unknown_programme",
        ),
        (CorrectDetails, {"participant_id": PID, "religion": "x"}, "unknown_field"),
        (RecordDeath, {"participant_id": PID}, "invalid_date"),
        (FileClaim, {"participant_id": PID, "programme": "JKP"}, "unknown_programme"),
        (
            FileClaim,
            {
                "participant_id": PID,
                "programme": "JKK",
                "incident_date": "2024-03-05",
                "work_related": "maybe",
            },
            "invalid_work_related",
        ),
        (ApproveClaim, {"participant_id": PID, "claim_id": "c-1"}, "invalid_claim_id"),
        (
            ApproveClaim,
            {"participant_id": PID, "claim_id": uuid4(), "amount": "0"},
            "invalid_amount",
        ),
        (
            RejectClaim,
            {"participant_id": PID, "claim_id": uuid4(), "reason": "  "},
            "reason_required",
        ),
        (PayClaim, {"participant_id": PID}, "missing_claim_id"),
        (ErasePersonalData, {}, "missing_participant_id"),
    ],
)
def test_a_malformed_field_is_refused_with_its_code(
    kind: type, fields: dict[str, Any], code: str
) -> None:
    with pytest.raises(LedgerError) as refused:
        parse(kind, fields)
    assert refused.value.code == code
    assert refused.value.message


def test_run_parsed_keeps_each_rows_place_and_its_refusal() -> None:
    rows = [enrollment(), enrollment(nik="1"), enrollment()]
    seen: list[Enroll] = []

    def run(commands: list[Enroll]) -> list[str]:
        seen.extend(commands)
        return [c.nik.digits for c in commands]

    outcomes = run_parsed(Enroll, rows, run)

    assert len(seen) == 2
    assert outcomes[0] == rows[0]["nik"] and outcomes[2] == rows[2]["nik"]
    assert isinstance(outcomes[1], LedgerError) and outcomes[1].code == "invalid_nik"


def test_the_ledger_parses_nothing_but_what_a_query_is_given() -> None:
    """Command methods take typed values: no string parsing in the Ledger's modules, and
    no old call form (a participant id and keyword fields) left anywhere."""
    parsing = re.compile(
        r"parse_(date|rupiah|programmes|channel|sex|segment)\(|Nik\.parse\(|"
        r"\bparse\(|run_parsed\(|_text\(|normalize_phone"
    )
    found = []
    for module in ("domain/ledger.py", "domain/changes.py", "domain/reads.py"):
        lines = (ROOT / module).read_text().splitlines()
        for n, line in enumerate(lines, 1):
            if parsing.search(line) and "import" not in line:
                found.append(f"{module}:{n}: {line.strip()}")
    # What is left: the query side (a NIK or a date typed by a person asking), and the
    # current NIK read back from the store in a correction.
    allowed = ("Nik.parse(nik).digits", "parse_date(as_of", 'Nik.parse(current["nik"])')
    assert [f for f in found if not any(a in f for a in allowed)] == []
    assert len(found) <= len(allowed)
    compat = "compat: remove once tools/ uses typed commands"
    wrappers = [
        str(path.relative_to(ROOT))
        for folder in ("domain", "infra", "tools", "api")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if compat in path.read_text()
    ]
    assert wrappers == []


def test_execute_answers_any_command_and_refuses_what_is_not_one(ledger: Ledger) -> None:
    enrolled = ledger.execute(parse(Enroll, enrollment()))
    pid = enrolled.value.participant_id
    died = ledger.execute(parse(RecordDeath, participant_id=pid, died_on="2024-05-01"))

    assert (enrolled.position, died.value, died.position) == (2, None, 3)
    assert ledger.get_participant(pid).died_on == date(2024, 5, 1)
    with pytest.raises(TypeError, match="not a command"):
        ledger.execute(object())  # type: ignore[arg-type]
