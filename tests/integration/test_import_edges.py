"""Hostile import files (issue 20, items 1-4): refused with a code naming the row, the
ledger untouched; the rejects file written privately, safely and without live formulas.
"""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from domain.ledger import Ledger
from infra.imports import ENROLLMENT_COLUMNS, ImportFileError, count_rows, import_file
from infra.safe_files import OutputError
from tests.factories import enrollment


def write_rows(
    path: Path, rows: list[dict[str, object]], columns: tuple[str, ...] = ENROLLMENT_COLUMNS
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def good_sheet_bytes(rows: int) -> bytes:
    lines = [",".join(ENROLLMENT_COLUMNS)]
    for _ in range(rows):
        row = enrollment()
        lines.append(",".join(str(row[c] or "") for c in ENROLLMENT_COLUMNS))
    return ("\n".join(lines) + "\n").encode()


def refused(ledger: Ledger, path: Path) -> ImportFileError:
    before = ledger.recorder.max_notification_id()
    with pytest.raises(ImportFileError) as error:
        import_file(ledger, "enrollments", path)
    assert ledger.recorder.max_notification_id() == before
    if error.value.code != "missing_columns":  # a matter of columns, not of reading
        with pytest.raises(ImportFileError) as counted:
            count_rows(path)  # what the CLI runs first refuses the same way
        assert counted.value.code == error.value.code
    return error.value


# --- item 1: files that are not UTF-8 CSV -------------------------------------------------


def test_a_latin1_byte_is_refused_naming_its_row(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"nik,name\n\xff\n")
    error = refused(ledger, path)
    assert error.code == "not_utf8" and "Row 1 (line 2)" in error.message


def test_one_bad_byte_late_in_a_file_refuses_it_whole(ledger: Ledger, tmp_path: Path) -> None:
    lines = good_sheet_bytes(700).split(b"\n")
    lines[650] = lines[650].replace(b"Siti", b"S\xe9ti")
    path = tmp_path / "late.csv"
    path.write_bytes(b"\n".join(lines))
    error = refused(ledger, path)
    assert error.code == "not_utf8" and "Row 650 (line 651)" in error.message
    assert ledger.recorder.max_notification_id() is None  # not even the first 649 rows


def test_a_utf16_file_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(good_sheet_bytes(2).decode().encode("utf-16"))
    assert refused(ledger, path).code == "not_utf8"


@pytest.mark.parametrize(
    "garbage", [b"\x00\x01\x02\x03binary\x00", b"nik,name\nab\x00c,d\n", b'nik,name\n"open quote\n']
)
def test_binary_and_broken_csv_are_refused(ledger: Ledger, tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(garbage)
    assert refused(ledger, path).code in ("malformed_csv", "not_utf8", "missing_columns")


def test_a_field_over_the_csv_limit_is_refused_naming_its_row(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    row = enrollment()
    row["name"] = "x" * 200_000
    write_rows(path, [enrollment(), row])
    error = refused(ledger, path)
    assert error.code == "field_too_large" and "Row 2" in error.message


def test_a_directory_or_missing_file_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    assert refused(ledger, tmp_path).code == "file_unreadable"
    assert refused(ledger, tmp_path / "nope.csv").code == "file_unreadable"


# --- items 2-4: the rejects file -----------------------------------------------------------


def sheet_with_rejects(tmp_path: Path) -> Path:
    bad = enrollment(village_code="12.71.01.9999")
    return write_rows(tmp_path / "sheet.csv", [enrollment(), bad])


def test_a_symlink_at_the_rejects_path_is_replaced_not_followed(
    ledger: Ledger, tmp_path: Path
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    sheet = sheet_with_rejects(tmp_path)
    (tmp_path / "sheet.rejects.csv").symlink_to(target)
    report = import_file(ledger, "enrollments", sheet)
    assert report.rejected == 1
    assert target.read_text() == "keep me\n"
    rejects = tmp_path / "sheet.rejects.csv"
    assert not rejects.is_symlink() and "unknown_village" in rejects.read_text()


def test_a_directory_at_the_rejects_path_refuses_the_import_before_any_row(
    ledger: Ledger, tmp_path: Path
) -> None:
    sheet = sheet_with_rejects(tmp_path)
    (tmp_path / "sheet.rejects.csv").mkdir()
    with pytest.raises(OutputError) as error:
        import_file(ledger, "enrollments", sheet)
    assert error.value.code == "output_unwritable"
    assert ledger.recorder.max_notification_id() is None


def test_the_rejects_file_is_private_and_leaves_no_temporary_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    os.umask(0o022)
    import_file(ledger, "enrollments", sheet_with_rejects(tmp_path))
    rejects = tmp_path / "sheet.rejects.csv"
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("sheet", ".sheet"))) == [
        "sheet.csv",
        "sheet.rejects.csv",
    ]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(ledger: Ledger, tmp_path: Path, prefix: str) -> None:
    formula = prefix + 'HYPERLINK("http://evil.example","x")'
    sheet = write_rows(tmp_path / "sheet.csv", [enrollment(name=formula, village_code="99")])
    report = import_file(ledger, "enrollments", sheet)
    assert report.rejected == 1
    with (tmp_path / "sheet.rejects.csv").open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["name"] == "'" + formula
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())


def test_formula_column_names_are_neutralised_too(ledger: Ledger, tmp_path: Path) -> None:
    columns = (*ENROLLMENT_COLUMNS, "=cmd|' /C calc'!A0")
    row = {**enrollment(village_code="99"), columns[-1]: "x"}
    import_file(ledger, "enrollments", write_rows(tmp_path / "sheet.csv", [row], columns))
    header = (tmp_path / "sheet.rejects.csv").read_text().splitlines()[0]
    assert ",'=cmd" in header


def test_an_endless_line_is_refused_without_reading_it_whole(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"nik,name\n" + b"1" * (9 * 1024 * 1024) + b"\n")
    error = refused(ledger, path)
    assert error.code == "field_too_large" and "line 2" in error.message


def test_a_device_is_refused(ledger: Ledger) -> None:
    assert refused(ledger, Path("/dev/null")).code == "file_unreadable"
