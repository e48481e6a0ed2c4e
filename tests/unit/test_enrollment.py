"""Enrollment, the NIK index, corrections and idempotent payment references."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain.commands import (
    CorrectDetails,
    Enroll,
    ErasePersonalData,
    RecordContribution,
    parse,
    run_parsed,
)
from domain.errors import ConflictError, LedgerError, NotFoundError
from domain.ledger import EnrollmentResult, Ledger, PaymentResult
from domain.participant import Participant
from tests.factories import MONTHLY_JKK_JKM_1_5M, VILLAGE, enrollment, new_nik

M = MONTHLY_JKK_JKM_1_5M
# A real kelurahan in Kota Depok (Pancoran Mas). tests/factories.OTHER_VILLAGE,
# 32.76.01.1001, is not in the Home Affairs register.
OTHER_VILLAGE = "32.76.01.1006"


def event_names(ledger: Ledger, pid: UUID) -> list[str]:
    return [type(e).__name__ for e in ledger.get_history(pid)]


def personal_data(ledger: Ledger, pid: UUID) -> dict[str, Any]:
    """The participant's personal data, which must not have been erased."""
    found = ledger.get_personal_data(pid)
    assert found is not None
    return found


# --- one enrollment --------------------------------------------------------------------


def test_enrollment_happy_path(ledger: Ledger) -> None:
    row = enrollment(address="Jl. Kapten Muslim 12", village_code="1271011001")
    pid = ledger.enroll(parse(Enroll, row))
    p = ledger.get_participant(pid)
    assert p.enrolled_on == date(2024, 1, 10)
    assert p.village == VILLAGE  # plain code stored dotted
    assert (p.sex, p.occupation, p.segment) == ("F", "trader", "BPU")
    assert ledger.get_personal_data(pid) == {
        "nik": row["nik"],
        "name": "Siti Aminah",
        "birth_date": "1990-05-15",
        "phone": "+6281234567890",
        "address": "Jl. Kapten Muslim 12",
    }
    assert ledger.find_participant(row["nik"]) == pid
    assert ledger.resolve(row["nik"]) == pid
    assert ledger.resolve(str(pid)) == pid
    assert event_names(ledger, pid) == ["Enrolled"]
    enrolled = next(iter(ledger.get_history(pid)))
    assert (enrolled.channel, enrolled.agent_id) == ("perisai", "AG-0001")
    assert enrolled.programmes == ("JKK", "JKM") and enrolled.declared_income == 1_500_000
    s = ledger.get_status(pid, "2024-01-10")
    assert (s.status, s.village, s.segment, s.declared_income) == (
        "pending",
        VILLAGE,
        "BPU",
        1_500_000,
    )


def test_enrollment_writes_the_participant_and_its_nik_index_together(ledger: Ledger) -> None:
    before = ledger.recorder.max_notification_id() or 0
    ledger.enroll(parse(Enroll, enrollment()))
    assert ledger.recorder.max_notification_id() == (before or 0) + 2


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"nik": "127101550590000"}, "invalid_nik"),
        ({"nik": "12710155059000AB"}, "invalid_nik"),
        ({"nik": "9971015505900001"}, "nik_unknown_province"),
        ({"nik": ""}, "missing_nik"),
        ({"village_code": "12.71.01.9999"}, "unknown_village"),
        ({"village_code": "12.71.1.1001"}, "invalid_village_code"),
        ({"sex": "M", "nik": new_nik(date(1990, 5, 15), "F")}, "nik_sex_mismatch"),
        ({"birth_date": "1990-05-16"}, "nik_birth_date_mismatch"),  # NIK says 15-05-90
        ({"birth_date": date(2024, 6, 1)}, "invalid_birth_date"),  # after enrollment
        ({"birth_date": date(2024, 1, 10)}, "invalid_birth_date"),  # the same day
        ({"birth_date": "15-05-1990"}, "invalid_date"),
        ({"name": ""}, "missing_name"),
        ({"name": "   "}, "missing_name"),
        ({"name": "x" * 201}, "invalid_name"),
        ({"phone": "12345"}, "invalid_phone"),
        ({"phone": "not a phone"}, "invalid_phone"),
        ({"channel": "courier"}, "unknown_channel"),
        ({"channel": "perisai", "agent_id": None}, "agent_id_required"),
        ({"enrolled_on": "2026-07-01"}, "date_in_future"),
        ({"enrolled_on": "2015-06-30"}, "before_scheme_rules"),
        ({"programmes": "JKK"}, "mandatory_programme_missing"),
        ({"programmes": "JKK+JKM+JP"}, "unknown_programme"),
        ({"declared_income": 0}, "invalid_amount"),
        ({"segment": "PU"}, "segment_not_supported"),
        ({"sex": "X"}, "invalid_sex"),
        ({"occupation": ""}, "invalid_occupation"),
    ],
)
def test_enrollment_refusals(ledger: Ledger, refused, overrides: dict, code: str) -> None:
    factory_args = {k: v for k, v in overrides.items() if k == "birth_date" and isinstance(v, date)}
    row = enrollment(**factory_args)
    row.update({k: v for k, v in overrides.items() if k not in factory_args})
    with refused(ledger, code):
        ledger.enroll(parse(Enroll, row))
    if row["nik"] and len(row["nik"]) == 16 and row["nik"].isdigit():
        with contextlib.suppress(LedgerError):  # the NIK itself is invalid
            assert ledger.find_participant(row["nik"]) is None


def test_optional_fields_may_be_left_out(ledger: Ledger) -> None:
    pid = ledger.enroll(
        parse(Enroll, enrollment(phone=None, address="", channel="village_office", agent_id=None))
    )
    personal = personal_data(ledger, pid)
    assert (personal["phone"], personal["address"]) == (None, None)


# --- the same NIK again ----------------------------------------------------------------


def test_the_same_nik_with_different_facts_is_refused(ledger: Ledger, refused) -> None:
    row = enrollment()
    pid = ledger.enroll(parse(Enroll, row))
    for changed in (
        {"name": "Siti Rahmah"},
        {"enrolled_on": "2024-02-01"},
        {"village_code": OTHER_VILLAGE},
    ):
        with refused(ledger, "already_enrolled"):
            ledger.enroll(parse(Enroll, {**row, **changed}))
    assert ledger.find_participant(row["nik"]) == pid


def test_the_very_same_enrollment_again_answers_with_the_same_id(ledger: Ledger) -> None:
    row = enrollment()
    pid = ledger.enroll(parse(Enroll, row))
    before = ledger.recorder.max_notification_id()
    assert ledger.enroll(parse(Enroll, row)) == pid
    assert ledger.enroll(parse(Enroll, {**row, "village_code": VILLAGE.replace(".", "")})) == pid
    assert ledger.recorder.max_notification_id() == before
    assert event_names(ledger, pid) == ["Enrolled"]


def test_enroll_many_saves_the_good_rows_and_reports_the_bad(ledger: Ledger) -> None:
    existing = enrollment()
    existing_id = ledger.enroll(parse(Enroll, existing))
    before = ledger.recorder.max_notification_id()
    rows = [
        enrollment(name="Good One"),
        enrollment(nik="127101550590000"),
        enrollment(name="Good Two", channel="partner", agent_id=None),
        enrollment(village_code="12.71.01.9999"),
        {**existing, "name": "Someone Else"},
        dict(existing),  # the same enrollment again
        enrollment(phone="12345"),
    ]
    results = run_parsed(Enroll, rows, ledger.enroll_many)
    assert len(results) == len(rows)
    good = [results[0], results[2]]
    assert all(isinstance(r, EnrollmentResult) and not r.replayed for r in good)
    codes = [r.code if isinstance(r, LedgerError) else None for r in results]
    assert codes == [
        None,
        "invalid_nik",
        None,
        "unknown_village",
        "already_enrolled",
        None,
        "invalid_phone",
    ]
    assert results[5] == EnrollmentResult(existing_id, replayed=True)
    # two participants and their two NIK indexes, in one go
    assert ledger.recorder.max_notification_id() == (before or 0) + 4
    for row, result in ((rows[0], results[0]), (rows[2], results[2])):
        assert isinstance(result, EnrollmentResult)
        assert ledger.find_participant(row["nik"]) == result.participant_id
        assert personal_data(ledger, result.participant_id)["name"] == row["name"]
    for row in (rows[3], rows[6]):
        assert ledger.find_participant(row["nik"]) is None


def test_a_nik_twice_in_one_batch_is_answered_as_across_batches(ledger: Ledger) -> None:
    """Another enrollment under the NIK is refused, the same one again is a repeat: the
    answers two batches give, so where a file's batches begin changes no answer (a
    re-run of a killed import lists the same rejects)."""
    row = enrollment()
    rows = [row, {**row, "name": "Other Name"}, dict(row)]
    results = run_parsed(Enroll, rows, ledger.enroll_many)
    assert isinstance(results[0], EnrollmentResult) and not results[0].replayed
    assert isinstance(results[1], ConflictError) and results[1].code == "already_enrolled"
    assert results[2] == EnrollmentResult(results[0].participant_id, replayed=True)
    assert ledger.find_participant(row["nik"]) == results[0].participant_id
    assert event_names(ledger, results[0].participant_id) == ["Enrolled"]
    one_by_one = [run_parsed(Enroll, [r], ledger.enroll_many)[0] for r in rows]
    assert [type(r) for r in one_by_one] == [EnrollmentResult, ConflictError, EnrollmentResult]
    assert [getattr(r, "message", None) for r in one_by_one] == [
        getattr(r, "message", None) for r in results
    ]


def test_an_empty_or_all_bad_batch_writes_nothing(ledger: Ledger) -> None:
    before = ledger.recorder.max_notification_id()
    assert run_parsed(Enroll, [], ledger.enroll_many) == []
    results = run_parsed(Enroll, [enrollment(phone="1"), enrollment(name="")], ledger.enroll_many)
    assert [getattr(r, "code", None) for r in results] == ["invalid_phone", "missing_name"]
    assert ledger.recorder.max_notification_id() == before


def test_find_participant(ledger: Ledger) -> None:
    row = enrollment()
    pid = ledger.enroll(parse(Enroll, row))
    assert ledger.find_participant(row["nik"]) == pid
    assert ledger.find_participant(f" {row['nik']} ") == pid
    assert ledger.find_participant(new_nik()) is None
    with pytest.raises(LedgerError) as info:
        ledger.find_participant("123")
    assert info.value.code == "invalid_nik"
    with pytest.raises(NotFoundError):
        ledger.resolve(new_nik())


def test_a_nik_is_free_again_after_erasure(ledger: Ledger) -> None:
    row = enrollment()
    first = ledger.enroll(parse(Enroll, row))
    ledger.erase_personal_data(
        parse(ErasePersonalData, participant_id=first, erased_on="2024-02-01")
    )
    assert ledger.find_participant(row["nik"]) is None
    second = ledger.enroll(parse(Enroll, {**row, "enrolled_on": "2024-03-01"}))
    assert second != first
    assert ledger.find_participant(row["nik"]) == second


# --- corrections -----------------------------------------------------------------------


def test_a_name_correction_is_visible(ledger: Ledger) -> None:
    row = enrollment()
    pid = ledger.enroll(parse(Enroll, row))
    ledger.correct_details(
        parse(
            CorrectDetails,
            participant_id=pid,
            name="Siti Aminah Lubis",
            phone="+62 812-1111-2222",
            corrected_on="2024-02-01",
        )
    )
    personal = personal_data(ledger, pid)
    assert personal["name"] == "Siti Aminah Lubis"
    assert personal["phone"] == "+6281211112222"
    assert personal["nik"] == row["nik"]
    assert event_names(ledger, pid) == ["Enrolled", "DetailsCorrected"]


def test_village_and_occupation_corrections(ledger: Ledger) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    ledger.correct_details(
        parse(
            CorrectDetails,
            participant_id=pid,
            village_code=OTHER_VILLAGE.replace(".", ""),
            occupation="Farmer",
            corrected_on="2024-02-01",
        )
    )
    p = ledger.get_participant(pid)
    assert (p.village, p.occupation) == (OTHER_VILLAGE, "farmer")


def test_correction_refusals(ledger: Ledger, refused) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    with refused(ledger, "nothing_to_correct"):
        ledger.correct_details(parse(CorrectDetails, participant_id=pid, corrected_on="2024-02-01"))
    with refused(ledger, "unknown_field"):
        ledger.correct_details(
            parse(CorrectDetails, participant_id=pid, salary=1, corrected_on="2024-02-01")
        )
    with refused(ledger, "invalid_name"):
        ledger.correct_details(
            parse(CorrectDetails, participant_id=pid, name="  ", corrected_on="2024-02-01")
        )
    with refused(ledger, "nik_sex_mismatch"):
        ledger.correct_details(
            parse(CorrectDetails, participant_id=pid, sex="M", corrected_on="2024-02-01")
        )
    with refused(ledger, "nik_birth_date_mismatch"):
        ledger.correct_details(
            parse(
                CorrectDetails,
                participant_id=pid,
                birth_date="1990-05-16",
                corrected_on="2024-02-01",
            )
        )
    with refused(ledger, "unknown_village"):
        ledger.correct_details(
            parse(
                CorrectDetails,
                participant_id=pid,
                village_code="12.71.01.9999",
                corrected_on="2024-02-01",
            )
        )


def test_a_nik_correction_moves_the_index(ledger: Ledger) -> None:
    row = enrollment()
    pid = ledger.enroll(parse(Enroll, row))
    corrected = new_nik(district="32.76.01")
    ledger.correct_details(
        parse(CorrectDetails, participant_id=pid, nik=corrected, corrected_on="2024-02-01")
    )
    assert ledger.find_participant(row["nik"]) is None
    assert ledger.find_participant(corrected) == pid
    assert personal_data(ledger, pid)["nik"] == corrected
    # the old NIK is free for its rightful holder
    other = ledger.enroll(parse(Enroll, {**row, "name": "Rightful Holder"}))
    assert other != pid and ledger.find_participant(row["nik"]) == other


def test_a_nik_correction_with_sex_and_birth_date(ledger: Ledger) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    corrected = new_nik(date(1991, 2, 3), "M")
    ledger.correct_details(
        parse(
            CorrectDetails,
            participant_id=pid,
            nik=corrected,
            sex="M",
            birth_date="1991-02-03",
            corrected_on="2024-02-01",
        )
    )
    assert ledger.find_participant(corrected) == pid
    assert ledger.get_participant(pid).sex == "M"
    assert personal_data(ledger, pid)["birth_date"] == "1991-02-03"


def test_correcting_to_an_enrolled_nik_is_refused(ledger: Ledger, refused) -> None:
    first, second = enrollment(), enrollment(name="Dewi Lestari")
    first_id = ledger.enroll(parse(Enroll, first))
    second_id = ledger.enroll(parse(Enroll, second))
    with refused(ledger, "already_enrolled"):
        ledger.correct_details(
            parse(
                CorrectDetails,
                participant_id=first_id,
                nik=second["nik"],
                corrected_on="2024-02-01",
            )
        )
    assert ledger.find_participant(first["nik"]) == first_id
    assert ledger.find_participant(second["nik"]) == second_id
    assert personal_data(ledger, first_id)["nik"] == first["nik"]


# --- payment references ----------------------------------------------------------------


def test_a_repeated_payment_reference_with_the_same_content_is_replayed(ledger: Ledger) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    payment = {
        "payment_ref": "BANK-2024-0001",
        "participant_id": str(pid),
        "amount": 3 * M,
        "paid_on": "2024-01-12",
        "channel": "bank",
    }
    first = ledger.record_contribution(parse(RecordContribution, payment))
    before = ledger.recorder.max_notification_id()
    again = ledger.record_contribution(parse(RecordContribution, payment))
    assert again.replayed and not first.replayed
    assert (
        again.participant_id,
        again.payment_ref,
        again.first_month,
        again.months,
        again.amount,
    ) == (first.participant_id, first.payment_ref, first.first_month, first.months, first.amount)
    # also when the participant is named by NIK and the amount written with separators
    nik = personal_data(ledger, pid)["nik"]
    by_nik = ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref="BANK-2024-0001",
            nik=nik,
            amount="65.400",
            paid_on=date(2024, 1, 12),
            channel="BANK",
        )
    )
    assert by_nik.replayed and by_nik.first_month == first.first_month
    assert ledger.recorder.max_notification_id() == before
    assert ledger.get_status(pid, "2024-03-31").status == "active"
    assert ledger.get_status(pid, "2024-04-01").status == "grace"  # paid once, not twice


def test_an_older_payment_sent_again_after_later_ones_is_a_repeat_not_a_new_payment(
    ledger: Ledger, refused
) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    older = {
        "payment_ref": "BANK-01",
        "participant_id": str(pid),
        "amount": M,
        "paid_on": "2024-01-12",
        "channel": "bank",
    }
    first = ledger.record_contribution(parse(RecordContribution, older))
    ledger.record_contribution(
        parse(RecordContribution, {**older, "payment_ref": "BANK-02", "paid_on": "2024-02-12"})
    )
    before = ledger.recorder.max_notification_id()

    again = ledger.record_contribution(
        parse(RecordContribution, older)
    )  # a bank file imported a second time
    [in_batch] = run_parsed(RecordContribution, [older], ledger.record_contributions)
    assert again.replayed and again.first_month == first.first_month
    assert isinstance(in_batch, PaymentResult) and in_batch.replayed
    with refused(ledger, "payment_ref_conflict"):
        ledger.record_contribution(parse(RecordContribution, {**older, "amount": 2 * M}))
    assert ledger.recorder.max_notification_id() == before
    # a new reference for an older date is a late payment: it settles in its place
    late = ledger.record_contribution(
        parse(RecordContribution, {**older, "payment_ref": "BANK-03"})
    )
    assert (str(late.first_month), late.months) == ("2024-02", 1)
    moved = ledger.record_contribution(
        parse(RecordContribution, {**older, "payment_ref": "BANK-02", "paid_on": "2024-02-12"})
    )
    assert moved.replayed and str(moved.first_month) == "2024-03"  # its months as now settled


@pytest.mark.parametrize(
    "changed",
    [{"amount": 2 * M}, {"paid_on": "2024-01-13"}, {"channel": "online"}, {"other": True}],
)
def test_a_reused_payment_reference_with_other_content_is_a_conflict(
    ledger: Ledger, refused, changed: dict
) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    payment = {
        "payment_ref": "BANK-2024-0002",
        "participant_id": str(pid),
        "amount": 3 * M,
        "paid_on": "2024-01-12",
        "channel": "bank",
    }
    ledger.record_contribution(parse(RecordContribution, payment))
    if changed.pop("other", False):
        other = ledger.enroll(parse(Enroll, enrollment()))
        changed = {"participant_id": str(other)}
    with refused(ledger, "payment_ref_conflict"):
        ledger.record_contribution(parse(RecordContribution, {**payment, **changed}))


def test_two_payments_of_one_participant_in_one_batch_settle_in_order(ledger: Ledger) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    other = ledger.enroll(parse(Enroll, enrollment()))
    before = ledger.recorder.max_notification_id()
    results = run_parsed(
        RecordContribution,
        [
            {
                "payment_ref": "B-1",
                "participant_id": str(pid),
                "amount": M,
                "paid_on": "2024-01-12",
                "channel": "bank",
            },
            {
                "payment_ref": "B-2",
                "participant_id": str(other),
                "amount": M + 1,
                "paid_on": "2024-01-12",
                "channel": "bank",
            },
            {
                "payment_ref": "B-3",
                "participant_id": str(pid),
                "amount": 2 * M,
                "paid_on": "2024-01-20",
                "channel": "bank",
            },
            {
                "payment_ref": "B-4",
                "participant_id": str(pid),
                "amount": M,
                "paid_on": "2024-01-19",
                "channel": "bank",
            },
            {
                "payment_ref": "B-1",
                "participant_id": str(pid),
                "amount": M,
                "paid_on": "2024-01-12",
                "channel": "bank",
            },
        ],
        ledger.record_contributions,
    )
    assert isinstance(results[0], PaymentResult) and isinstance(results[2], PaymentResult)
    assert (str(results[0].first_month), results[0].months) == ("2024-01", 1)
    assert (str(results[2].first_month), results[2].months) == ("2024-02", 2)
    assert isinstance(results[1], LedgerError) and results[1].code == "amount_not_whole_months"
    # B-4 is dated before B-3: it settles February, and B-3 moves on to March and April
    assert isinstance(results[3], PaymentResult)
    assert (str(results[3].first_month), results[3].months) == ("2024-02", 1)
    assert isinstance(results[4], PaymentResult) and results[4].replayed
    # one participant event per accepted payment and per move, plus one reference each
    assert ledger.recorder.max_notification_id() == (before or 0) + 7
    assert event_names(ledger, pid) == [
        "Enrolled",
        "ContributionPaid",
        "ContributionPaid",
        "ContributionsResettled",
        "ContributionPaid",
    ]
    assert str(ledger.get_status(pid, "2024-01-31").paid_through) == "2024-04"
    assert str(ledger.get_status(pid, "2024-01-19").paid_through) == "2024-02"
    assert ledger.get_status(other, "2024-01-31").status == "pending"


def test_payment_for_an_unknown_participant_is_not_found(ledger: Ledger, refused) -> None:
    with refused(ledger, "participant_not_found"):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref="X-1",
                nik=new_nik(),
                amount=M,
                paid_on="2024-01-12",
                channel="bank",
            )
        )
    with refused(ledger, "invalid_participant_id"):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref="X-1",
                participant_id="nope",
                amount=M,
                paid_on="2024-01-12",
                channel="bank",
            )
        )


def test_aggregates_are_participants(ledger: Ledger) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment()))
    assert isinstance(ledger.get_participant(pid), Participant)
