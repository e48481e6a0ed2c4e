"""CSV imports on both stores: good rows in, bad rows out with reasons, re-runs change nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from domain.commands import Enroll, parse
from domain.ledger import Ledger
from infra.imports import CONTRIBUTION_COLUMNS, ENROLLMENT_COLUMNS, ImportFileError, import_file
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment


def write_csv(
    path: Path, columns: tuple[str, ...] | list[str], rows: list[dict[str, object]]
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_enrollment_sheet_accepts_good_rows_and_rejects_bad_ones_with_reasons(
    ledger: Ledger, tmp_path: Path
) -> None:
    good = [
        enrollment(name="Siti Aminah"),
        enrollment(name="Budi Santoso", sex="M", village_code="1271011001"),
    ]
    bad = [
        enrollment(nik="12710155059"),  # too short
        enrollment(village_code="12.71.01.9999"),  # no such village
        enrollment(sex="M", nik=good[0]["nik"].replace("5505", "5506")),  # NIK says female
        enrollment(enrolled_on="2999-01-01"),
        enrollment(declared_income="-5"),
        enrollment(nik=good[0]["nik"], name="Someone Else"),  # NIK already in the sheet
    ]
    sheet = write_csv(tmp_path / "sheet.csv", ENROLLMENT_COLUMNS, good + bad)

    report = import_file(ledger, "enrollments", sheet, batch_size=3)

    assert (report.rows, report.accepted, report.rejected) == (8, 2, 6)
    rejects = read_csv(tmp_path / "sheet.rejects.csv")
    assert [r["error_code"] for r in rejects] == [
        "invalid_nik",
        "unknown_village",
        "nik_sex_mismatch",
        "date_in_future",
        "invalid_amount",
        "already_enrolled",
    ]
    assert list(rejects[0])[: len(ENROLLMENT_COLUMNS)] == list(ENROLLMENT_COLUMNS)
    assert all(r["error"] for r in rejects)
    for row in good:
        assert ledger.find_participant(row["nik"]) is not None
    assert ledger.find_participant(bad[1]["nik"]) is None


def test_reimporting_the_same_sheet_changes_nothing(ledger: Ledger, tmp_path: Path) -> None:
    rows = [enrollment(), enrollment(), enrollment(village_code="99.99.99.9999")]
    sheet = write_csv(tmp_path / "sheet.csv", ENROLLMENT_COLUMNS, rows)
    first = import_file(ledger, "enrollments", sheet)
    position = ledger.recorder.max_notification_id()

    again = import_file(ledger, "enrollments", sheet)

    assert (first.accepted, first.rejected) == (2, 1)
    assert (again.accepted, again.already_recorded, again.rejected) == (0, 2, 1)
    assert ledger.recorder.max_notification_id() == position


def test_settlement_file_settles_months_and_refuses_what_it_cannot(
    ledger: Ledger, tmp_path: Path
) -> None:
    person = enrollment(enrolled_on="2025-01-06")
    ledger.enroll(parse(Enroll, person))
    nik = person["nik"]
    rows = [
        {
            "payment_ref": "BNI-1",
            "nik": nik,
            "amount": MONTHLY_JKK_JKM_1_5M,
            "paid_on": "2025-01-10",
            "channel": "bank",
        },
        {
            "payment_ref": "BNI-2",
            "nik": nik,
            "amount": 3 * MONTHLY_JKK_JKM_1_5M,
            "paid_on": "2025-02-10",
            "channel": "bank",
        },
        {
            "payment_ref": "BNI-3",
            "nik": nik,
            "amount": MONTHLY_JKK_JKM_1_5M + 1,
            "paid_on": "2025-03-10",
            "channel": "bank",
        },
        {
            "payment_ref": "BNI-1",
            "nik": nik,
            "amount": 2 * MONTHLY_JKK_JKM_1_5M,
            "paid_on": "2025-03-10",
            "channel": "bank",
        },
        {
            "payment_ref": "BNI-4",
            "nik": "1271015505900999",
            "amount": MONTHLY_JKK_JKM_1_5M,
            "paid_on": "2025-03-10",
            "channel": "bank",
        },
        {
            "payment_ref": "BNI-5",
            "nik": nik,
            "amount": 0,
            "paid_on": "2025-03-10",
            "channel": "bank",
        },
    ]
    settlement = write_csv(tmp_path / "bank.csv", CONTRIBUTION_COLUMNS, rows)

    report = import_file(ledger, "contributions", settlement)

    assert (report.accepted, report.rejected) == (2, 4)
    assert [r["error_code"] for r in read_csv(tmp_path / "bank.rejects.csv")] == [
        "amount_not_whole_months",
        "payment_ref_conflict",
        "participant_not_found",
        "invalid_amount",
    ]
    status = ledger.get_status(ledger.resolve(nik), as_of="2025-04-15")
    assert str(status.paid_through) == "2025-04"
    assert status.status == "active"

    position = ledger.recorder.max_notification_id()
    again = import_file(ledger, "contributions", settlement)
    assert (again.accepted, again.already_recorded, again.rejected) == (0, 2, 4)
    assert ledger.recorder.max_notification_id() == position


def test_a_bank_file_for_an_earlier_day_imported_later_is_accepted(
    ledger: Ledger, tmp_path: Path
) -> None:
    """The file for the 15th reached the ledger before the one for the 10th (issue 21)."""
    person = enrollment(enrolled_on="2025-01-06")
    pid = ledger.enroll(parse(Enroll, person))
    m = MONTHLY_JKK_JKM_1_5M
    row = {"nik": person["nik"], "amount": m, "channel": "bank"}
    first = write_csv(
        tmp_path / "jan.csv",
        CONTRIBUTION_COLUMNS,
        [{**row, "payment_ref": "J-1", "paid_on": "2025-01-10"}],
    )
    the_15th = write_csv(
        tmp_path / "15.csv",
        CONTRIBUTION_COLUMNS,
        [{**row, "payment_ref": "F-15", "paid_on": "2025-03-15"}],
    )
    the_10th = write_csv(
        tmp_path / "10.csv",
        CONTRIBUTION_COLUMNS,
        [{**row, "payment_ref": "F-10", "paid_on": "2025-03-10", "amount": 2 * m}],
    )
    for path in (first, the_15th, the_10th):
        report = import_file(ledger, "contributions", path)
        assert (report.accepted, report.rejected) == (1, 0)
    spans = {s.payment_ref: (str(s.first), s.months) for s in ledger.get_participant(pid).payments}
    assert spans == {"J-1": ("2025-01", 1), "F-10": ("2025-02", 2), "F-15": ("2025-04", 1)}
    again = import_file(ledger, "contributions", the_10th)
    assert (again.accepted, again.already_recorded) == (0, 1)


def test_a_file_with_missing_columns_is_refused_whole(ledger: Ledger, tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "sheet.csv", ["nik", "name"], [{"nik": "1", "name": "x"}])
    with pytest.raises(ImportFileError) as refused:
        import_file(ledger, "enrollments", sheet)
    assert refused.value.code == "missing_columns"
    assert ledger.recorder.max_notification_id() is None


def test_a_clean_reimport_removes_a_stale_rejects_file(ledger: Ledger, tmp_path: Path) -> None:
    stale = tmp_path / "sheet.rejects.csv"
    stale.write_text("old\n")
    import_file(
        ledger, "enrollments", write_csv(tmp_path / "sheet.csv", ENROLLMENT_COLUMNS, [enrollment()])
    )
    assert not stale.exists()
