"""Claims: eligibility, benefits fixed by the rules, the claim life cycle, legal hold.

The reference participant enrols on 2024-01-10 at Rp 1,500,000 declared income
(JKK+JKM Rp 21,800 a month; with JHT Rp 51,800, of which JHT Rp 30,000).
"""

from __future__ import annotations

import itertools
from datetime import date
from uuid import UUID, uuid4

import pytest

from domain.commands import (
    ApproveClaim,
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
)
from domain.errors import NotFoundError
from domain.ledger import Ledger
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment

M = MONTHLY_JKK_JKM_1_5M  # 21,800
M_JHT = 51_800
_refs = itertools.count(1)


def enrol(ledger: Ledger, **overrides) -> UUID:
    overrides.setdefault("enrolled_on", "2024-01-10")
    return ledger.enroll(parse(Enroll, enrollment(**overrides)))


def pay(ledger: Ledger, pid: UUID, amount: int, paid_on: str) -> None:
    ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref=f"claims-{next(_refs)}",
            participant_id=str(pid),
            amount=amount,
            paid_on=paid_on,
            channel="bank",
        )
    )


@pytest.fixture
def covered(ledger: Ledger) -> UUID:
    """Enrolled 2024-01-10, JKK+JKM paid for all of 2024 on 2024-01-12."""
    pid = enrol(ledger)
    pay(ledger, pid, 12 * M, "2024-01-12")
    return pid


def claim_of(ledger: Ledger, pid: UUID, claim_id: UUID) -> dict:
    return ledger.get_participant(pid).claim(claim_id)


# --- JKK -------------------------------------------------------------------------------


def test_work_accident_in_a_covered_month_is_filed_approved_and_paid(
    ledger: Ledger, covered: UUID
) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
            description="cut by a sickle",
        )
    )
    claim = claim_of(ledger, covered, claim_id)
    assert (claim["programme"], claim["kind"], claim["status"]) == ("JKK", "medical", "filed")
    assert claim["incident_date"] == date(2024, 3, 5)
    assert ledger.get_status(covered, "2024-03-06").open_claims == 1
    assert ledger.get_status(covered, "2024-03-05").open_claims == 0  # not filed yet then

    assert (
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-03-10",
                amount="2.500.000",
            )
        )
        == 2_500_000
    )
    assert claim_of(ledger, covered, claim_id)["status"] == "approved"
    ledger.pay_claim(
        parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-12")
    )
    claim = claim_of(ledger, covered, claim_id)
    assert (claim["status"], claim["amount"], claim["paid_on"]) == (
        "paid",
        2_500_000,
        date(2024, 3, 12),
    )
    assert ledger.get_status(covered, "2024-03-12").open_claims == 0


def test_open_claims_as_of_a_past_day_stay_as_they_were(ledger: Ledger, covered: UUID) -> None:
    # Status as of a date is a pure function of the events and that date: a claim open on
    # 2024-03-08 was open then, whatever happened to it later.
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    before = ledger.get_status(covered, "2024-03-08")
    assert before.open_claims == 1
    ledger.approve_claim(
        parse(
            ApproveClaim,
            participant_id=covered,
            claim_id=claim_id,
            approved_on="2024-03-10",
            amount=100_000,
        )
    )
    ledger.pay_claim(
        parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-12")
    )
    assert ledger.get_status(covered, "2024-03-08") == before
    assert ledger.get_status(covered, "2024-03-12").open_claims == 0


def test_jkk_claims_are_per_incident(ledger: Ledger, covered: UUID) -> None:
    first = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    second = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="jkk",
            kind="Temporary_Incapacity",
            incident_date="2024-04-05",
            filed_on="2024-04-06",
            work_related=True,
        )
    )
    assert first != second
    assert ledger.get_status(covered, "2024-04-06").open_claims == 2


@pytest.mark.parametrize("incident", ["2024-03-05", "2024-04-30", "2024-05-01"])
def test_work_accident_outside_cover_is_refused(ledger: Ledger, refused, incident: str) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")  # January only, from the 12th
    with refused(ledger, "not_covered"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JKK",
                kind="medical",
                incident_date=incident,
                filed_on="2024-05-01",
                work_related=True,
            )
        )


def test_work_accident_before_any_payment_is_refused(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    with refused(ledger, "not_covered"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JKK",
                kind="medical",
                incident_date="2024-01-20",
                filed_on="2024-01-21",
                work_related=True,
            )
        )


def test_work_accident_in_a_grace_month_whose_arrears_were_paid_is_covered(ledger: Ledger) -> None:
    # DOMAIN.md, Coverage: paying arrears in grace "restores cover for those months, so
    # coverage of a past month can change after the fact"; Claims: JKK needs the
    # "incident date in a covered month". Once March is paid, March is covered.
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    pay(ledger, pid, 3 * M, "2024-04-10")  # Feb, Mar, Apr
    ledger.file_claim(
        parse(
            FileClaim,
            participant_id=pid,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-04-11",
            work_related=True,
        )
    )


def test_jkk_incident_not_work_related_is_refused(ledger: Ledger, covered: UUID, refused) -> None:
    with refused(ledger, "not_work_related"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKK",
                kind="medical",
                incident_date="2024-03-05",
                filed_on="2024-03-06",
                work_related=False,
            )
        )


def test_jkk_medical_approval_needs_an_amount(ledger: Ledger, covered: UUID, refused) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    with refused(ledger, "amount_required"):
        ledger.approve_claim(
            parse(ApproveClaim, participant_id=covered, claim_id=claim_id, approved_on="2024-03-10")
        )
    with refused(ledger, "invalid_amount"):
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-03-10",
                amount=0,
            )
        )


def test_jkk_death_pays_48_times_the_declared_income(
    ledger: Ledger, covered: UUID, refused
) -> None:
    with refused(ledger, "death_not_recorded"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKK",
                kind="death",
                incident_date="2024-05-20",
                filed_on="2024-05-25",
                work_related=True,
            )
        )
    ledger.record_death(parse(RecordDeath, participant_id=covered, died_on="2024-05-20"))
    with refused(ledger, "incident_not_death_date"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKK",
                kind="death",
                incident_date="2024-05-19",
                filed_on="2024-05-25",
                work_related=True,
            )
        )
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="death",
            incident_date="2024-05-20",
            filed_on="2024-05-25",
            work_related=True,
        )
    )
    with refused(ledger, "benefit_fixed_by_rules"):
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-05-30",
                amount=50_000_000,
            )
        )
    assert (
        ledger.approve_claim(
            parse(ApproveClaim, participant_id=covered, claim_id=claim_id, approved_on="2024-05-30")
        )
        == 48 * 1_500_000
    )


def test_jkk_death_uses_the_income_declared_for_the_month_of_death(ledger: Ledger) -> None:
    pid = enrol(ledger)
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=pid,
            declared_income=2_000_000,
            from_month="2024-02",
            declared_on="2024-01-11",
        )
    )
    pay(ledger, pid, M + (20_000 + 6_800), "2024-01-12")  # Jan at 1.5m, Feb at 2m
    ledger.record_death(parse(RecordDeath, participant_id=pid, died_on="2024-02-10"))
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=pid,
            programme="JKK",
            kind="death",
            incident_date="2024-02-10",
            filed_on="2024-02-11",
            work_related=True,
        )
    )
    assert (
        ledger.approve_claim(
            parse(ApproveClaim, participant_id=pid, claim_id=claim_id, approved_on="2024-02-12")
        )
        == 48 * 2_000_000
    )


# --- JKM -------------------------------------------------------------------------------


def test_jkm_claim_needs_the_death_recorded(ledger: Ledger, covered: UUID, refused) -> None:
    with refused(ledger, "death_not_recorded"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKM",
                kind="death",
                incident_date="2024-06-01",
                filed_on="2024-06-05",
            )
        )


def test_jkm_incident_date_is_the_date_of_death(ledger: Ledger, covered: UUID, refused) -> None:
    ledger.record_death(parse(RecordDeath, participant_id=covered, died_on="2024-06-01"))
    for incident in ("2024-05-31", "2024-06-02"):
        with refused(ledger, "incident_not_death_date"):
            ledger.file_claim(
                parse(
                    FileClaim,
                    participant_id=covered,
                    programme="JKM",
                    kind="death",
                    incident_date=incident,
                    filed_on="2024-06-05",
                )
            )


def test_jkm_pays_42_million(ledger: Ledger, covered: UUID, refused) -> None:
    ledger.record_death(parse(RecordDeath, participant_id=covered, died_on="2024-06-01"))
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKM",
            kind="death",
            incident_date="2024-06-01",
            filed_on="2024-06-05",
        )
    )
    with refused(ledger, "benefit_fixed_by_rules"):
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-06-10",
                amount=10_000_000,
            )
        )
    assert (
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-06-10",
                amount="42.000.000",
            )
        )
        == 42_000_000
    )
    ledger.pay_claim(
        parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-06-12")
    )
    assert claim_of(ledger, covered, claim_id)["status"] == "paid"


@pytest.mark.parametrize(
    ("died_on", "benefit"),
    [
        ("2024-01-15", 10_000_000),
        ("2024-03-01", 10_000_000),
        ("2024-04-09", 10_000_000),  # the last day within 3 months of 2024-01-10
        ("2024-04-10", 42_000_000),
        ("2024-07-01", 42_000_000),
    ],
)
def test_jkm_death_within_three_months_of_enrollment_pays_funeral_cost_only(
    ledger: Ledger, covered: UUID, died_on: str, benefit: int
) -> None:
    ledger.record_death(parse(RecordDeath, participant_id=covered, died_on=died_on))
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKM",
            kind="death",
            incident_date=died_on,
            filed_on=died_on,
        )
    )
    assert (
        ledger.approve_claim(
            parse(ApproveClaim, participant_id=covered, claim_id=claim_id, approved_on=died_on)
        )
        == benefit
    )


def test_a_second_jkm_claim_is_refused(ledger: Ledger, covered: UUID, refused) -> None:
    ledger.record_death(parse(RecordDeath, participant_id=covered, died_on="2024-06-01"))
    ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKM",
            kind="death",
            incident_date="2024-06-01",
            filed_on="2024-06-05",
        )
    )
    with refused(ledger, "jkm_already_claimed"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKM",
                kind="death",
                incident_date="2024-06-01",
                filed_on="2024-06-06",
            )
        )


def test_jkm_for_a_work_accident_is_refused(ledger: Ledger, covered: UUID, refused) -> None:
    ledger.record_death(parse(RecordDeath, participant_id=covered, died_on="2024-06-01"))
    with refused(ledger, "work_accident_is_jkk"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKM",
                kind="death",
                incident_date="2024-06-01",
                filed_on="2024-06-05",
                work_related=True,
            )
        )


def test_jkm_death_outside_cover_is_refused(ledger: Ledger, refused) -> None:
    pid = enrol(ledger)
    pay(ledger, pid, M, "2024-01-12")
    ledger.record_death(
        parse(RecordDeath, participant_id=pid, died_on="2024-06-01")
    )  # lapsed by then
    with refused(ledger, "not_covered"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JKM",
                kind="death",
                incident_date="2024-06-01",
                filed_on="2024-06-05",
            )
        )


# --- the claim life cycle --------------------------------------------------------------


def test_rejection_needs_a_reason(ledger: Ledger, covered: UUID, refused) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    with refused(ledger, "reason_required"):
        ledger.reject_claim(
            parse(
                RejectClaim,
                participant_id=covered,
                claim_id=claim_id,
                reason="   ",
                rejected_on="2024-03-07",
            )
        )
    ledger.reject_claim(
        parse(
            RejectClaim,
            participant_id=covered,
            claim_id=claim_id,
            reason="not at work",
            rejected_on="2024-03-07",
        )
    )
    assert claim_of(ledger, covered, claim_id)["status"] == "rejected"
    assert ledger.get_status(covered, "2024-03-07").open_claims == 0
    with refused(ledger, "claim_not_filed"):
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-03-08",
                amount=1_000,
            )
        )
    with refused(ledger, "claim_not_filed"):
        ledger.reject_claim(
            parse(
                RejectClaim,
                participant_id=covered,
                claim_id=claim_id,
                reason="again",
                rejected_on="2024-03-08",
            )
        )


def test_only_an_approved_claim_is_paid(ledger: Ledger, covered: UUID, refused) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    with refused(ledger, "claim_not_approved"):
        ledger.pay_claim(
            parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-07")
        )
    ledger.reject_claim(
        parse(
            RejectClaim,
            participant_id=covered,
            claim_id=claim_id,
            reason="duplicate",
            rejected_on="2024-03-07",
        )
    )
    with refused(ledger, "claim_not_approved"):
        ledger.pay_claim(
            parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-08")
        )


def test_a_paid_claim_is_not_paid_twice(ledger: Ledger, covered: UUID, refused) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    ledger.approve_claim(
        parse(
            ApproveClaim,
            participant_id=covered,
            claim_id=claim_id,
            approved_on="2024-03-07",
            amount=100_000,
        )
    )
    ledger.pay_claim(
        parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-08")
    )
    with refused(ledger, "claim_not_approved"):
        ledger.pay_claim(
            parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-09")
        )


def test_approval_before_filing_is_refused(ledger: Ledger, covered: UUID, refused) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    with refused(ledger, "date_before_filing"):
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=claim_id,
                approved_on="2024-03-05",
                amount=100_000,
            )
        )


def test_unknown_claim_is_not_found(ledger: Ledger, covered: UUID) -> None:
    with pytest.raises(NotFoundError) as info:
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=covered,
                claim_id=uuid4(),
                approved_on="2024-03-07",
                amount=1_000,
            )
        )
    assert info.value.code == "claim_not_found"


@pytest.mark.parametrize(
    ("programme", "kind", "code"),
    [
        ("JP", "medical", "unknown_programme"),
        ("JKM", "medical", "invalid_claim_kind"),
        ("JKK", "scholarship", "invalid_claim_kind"),
    ],
)
def test_malformed_claims_are_refused(
    ledger: Ledger, covered: UUID, refused, programme: str, kind: str, code: str
) -> None:
    with refused(ledger, code):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme=programme,
                kind=kind,
                incident_date="2024-03-05",
                filed_on="2024-03-06",
                work_related=True,
            )
        )


def test_claim_dates_are_checked(ledger: Ledger, covered: UUID, refused) -> None:
    with refused(ledger, "incident_after_filing"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKK",
                kind="medical",
                incident_date="2024-03-05",
                filed_on="2024-03-04",
                work_related=True,
            )
        )
    with refused(ledger, "date_before_enrollment"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKK",
                kind="medical",
                incident_date="2024-01-09",
                filed_on="2024-03-04",
                work_related=True,
            )
        )
    with refused(ledger, "date_in_future"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JKK",
                kind="medical",
                incident_date="2030-01-01",
                filed_on="2030-01-02",
                work_related=True,
            )
        )


# --- JHT and erasure -------------------------------------------------------------------


def test_jht_withdrawal_pays_the_balance_then_erasure_is_allowed(ledger: Ledger, refused) -> None:
    row = enrollment(enrolled_on="2024-01-10", programmes="JKK+JKM+JHT")
    pid = ledger.enroll(parse(Enroll, row))
    pay(ledger, pid, 3 * M_JHT, "2024-01-12")
    assert ledger.get_status(pid, "2024-01-12").jht_balance == 90_000

    with refused(ledger, "not_withdrawn"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JHT",
                kind="withdrawal",
                incident_date="2024-02-01",
                filed_on="2024-02-01",
            )
        )
    with refused(ledger, "legal_hold_jht_balance"):
        ledger.erase_personal_data(
            parse(ErasePersonalData, participant_id=pid, erased_on="2024-02-01")
        )

    ledger.withdraw(
        parse(Withdraw, participant_id=pid, withdrawn_on="2024-02-01", reason="leaving the scheme")
    )
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=pid,
            programme="JHT",
            kind="withdrawal",
            incident_date="2024-02-01",
            filed_on="2024-02-02",
        )
    )
    with refused(ledger, "jht_claim_open"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JHT",
                kind="withdrawal",
                incident_date="2024-02-01",
                filed_on="2024-02-02",
            )
        )
    with refused(ledger, "benefit_fixed_by_rules"):
        ledger.approve_claim(
            parse(
                ApproveClaim,
                participant_id=pid,
                claim_id=claim_id,
                approved_on="2024-02-03",
                amount=100_000,
            )
        )
    assert (
        ledger.approve_claim(
            parse(ApproveClaim, participant_id=pid, claim_id=claim_id, approved_on="2024-02-03")
        )
        == 90_000
    )
    with refused(ledger, "legal_hold_open_claim"):
        ledger.erase_personal_data(
            parse(ErasePersonalData, participant_id=pid, erased_on="2024-02-04")
        )

    ledger.pay_claim(parse(PayClaim, participant_id=pid, claim_id=claim_id, paid_on="2024-02-05"))
    assert ledger.get_status(pid, "2024-02-05").jht_balance == 0
    assert ledger.get_status(pid, "2024-02-04").jht_balance == 90_000  # not paid out yet then
    with refused(ledger, "no_jht_balance"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JHT",
                kind="withdrawal",
                incident_date="2024-02-01",
                filed_on="2024-02-06",
            )
        )

    ledger.erase_personal_data(parse(ErasePersonalData, participant_id=pid, erased_on="2024-02-10"))
    assert ledger.get_personal_data(pid) is None
    assert ledger.find_participant(row["nik"]) is None
    s = ledger.get_status(pid, "2024-02-10")
    assert s.erased and s.status == "withdrawn"
    assert claim_of(ledger, pid, claim_id)["amount"] == 90_000  # the record stays


def test_jht_claim_without_a_balance_is_refused(ledger: Ledger, covered: UUID, refused) -> None:
    ledger.withdraw(parse(Withdraw, participant_id=covered, withdrawn_on="2024-02-01"))
    with refused(ledger, "no_jht_balance"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=covered,
                programme="JHT",
                kind="withdrawal",
                incident_date="2024-02-01",
                filed_on="2024-02-02",
            )
        )


def test_jht_age_claim_below_56_is_refused(ledger: Ledger, refused) -> None:
    pid = enrol(ledger, programmes="JKK+JKM+JHT", birth_date=date(1990, 5, 15))
    pay(ledger, pid, M_JHT, "2024-01-12")
    with refused(ledger, "below_jht_age"):
        ledger.file_claim(
            parse(
                FileClaim,
                participant_id=pid,
                programme="JHT",
                kind="age",
                incident_date="2024-02-01",
                filed_on="2024-02-01",
            )
        )


@pytest.mark.parametrize(
    ("incident", "code"), [("2024-03-14", "below_jht_age"), ("2024-03-15", None)]
)
def test_jht_age_claim_from_the_56th_birthday(
    ledger: Ledger, refused, incident: str, code: str | None
) -> None:
    pid = enrol(ledger, programmes="JKK+JKM+JHT", birth_date=date(1968, 3, 15), sex="M")
    pay(ledger, pid, 3 * M_JHT, "2024-01-12")
    if code:
        with refused(ledger, code):
            ledger.file_claim(
                parse(
                    FileClaim,
                    participant_id=pid,
                    programme="JHT",
                    kind="age",
                    incident_date=incident,
                    filed_on="2024-03-20",
                )
            )
        return
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=pid,
            programme="JHT",
            kind="age",
            incident_date=incident,
            filed_on="2024-03-20",
        )
    )
    assert (
        ledger.approve_claim(
            parse(ApproveClaim, participant_id=pid, claim_id=claim_id, approved_on="2024-03-21")
        )
        == 90_000
    )


def test_erasure_is_refused_while_a_claim_is_open(ledger: Ledger, covered: UUID, refused) -> None:
    claim_id = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=covered,
            programme="JKK",
            kind="medical",
            incident_date="2024-03-05",
            filed_on="2024-03-06",
            work_related=True,
        )
    )
    with refused(ledger, "legal_hold_open_claim"):
        ledger.erase_personal_data(
            parse(ErasePersonalData, participant_id=covered, erased_on="2024-03-07")
        )
    ledger.approve_claim(
        parse(
            ApproveClaim,
            participant_id=covered,
            claim_id=claim_id,
            approved_on="2024-03-07",
            amount=500_000,
        )
    )
    with refused(ledger, "legal_hold_open_claim"):
        ledger.erase_personal_data(
            parse(ErasePersonalData, participant_id=covered, erased_on="2024-03-08")
        )
    ledger.pay_claim(
        parse(PayClaim, participant_id=covered, claim_id=claim_id, paid_on="2024-03-09")
    )
    ledger.erase_personal_data(
        parse(ErasePersonalData, participant_id=covered, erased_on="2024-03-10")
    )
    assert ledger.get_personal_data(covered) is None
