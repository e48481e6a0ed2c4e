"""The `ledger` command as a user runs it: a real process, real store, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.imports import ENROLLMENT_COLUMNS
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment

LEDGER = str(Path(sys.executable).with_name("ledger"))


@pytest.fixture
def run(settings: Settings, tmp_path: Path):
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_VAR_DIR": str(tmp_path / "var"),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "COLUMNS": "200",
    }

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LEDGER, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )

    return invoke


def test_import_pay_status_and_history_end_to_end(run, tmp_path: Path) -> None:
    person = enrollment(enrolled_on="2025-01-06", name="Dewi Lestari")
    sheet = tmp_path / "sheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ENROLLMENT_COLUMNS))
        writer.writeheader()
        writer.writerow(person)

    imported = run("import", "enrollments", str(sheet), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["accepted"] == 1

    paid = run(
        "pay",
        person["nik"],
        "--amount",
        str(3 * MONTHLY_JKK_JKM_1_5M),
        "--ref",
        "R-1",
        "--paid-on",
        "2025-01-08",
    )
    assert paid.returncode == 0, paid.stderr
    assert "2025-01..2025-03" in paid.stdout

    now = run("status", person["nik"], "--json", "--as-of", "2025-02-20")
    body = json.loads(now.stdout)
    assert body["status"] == "active"
    assert body["paid_through"] == "2025-03"
    assert body["programmes"] == ["JKK", "JKM"]
    assert body["as_of"] == "2025-02-20"
    assert "name" not in body  # personal data only with --reveal

    later = json.loads(
        run("status", body["participant_id"], "--json", "--as-of", "2025-05-02").stdout
    )
    assert later["status"] == "grace"
    assert later["arrears_months"] == 2

    history = run("history", person["nik"], "--json")
    events = json.loads(history.stdout)["events"]
    assert [e["type"] for e in events] == ["Enrolled", "ContributionPaid"]
    assert person["nik"] not in history.stdout and "Dewi" not in history.stdout
    revealed = run("history", person["nik"], "--json", "--reveal")
    assert person["nik"] in revealed.stdout and "Dewi Lestari" in revealed.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("status", "12345"), "invalid_nik"),
        (("status", "1271015505900999"), "participant_not_found"),
        (("status", "00000000-0000-0000-0000-000000000000"), "participant_not_found"),
        (("pay", "1271015505900999", "--amount", "-1", "--ref", "X"), "participant_not_found"),
    ],
)
def test_bad_input_is_a_clear_error_with_a_code_and_no_traceback(run, args, code) -> None:
    result = run(*args)
    assert result.returncode == 1
    assert f"[{code}]" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_refused_payment_leaves_the_log_unchanged(run, tmp_path: Path) -> None:
    person = enrollment(enrolled_on="2025-01-06")
    sheet = tmp_path / "one.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ENROLLMENT_COLUMNS))
        writer.writeheader()
        writer.writerow(person)
    assert run("import", "enrollments", str(sheet)).returncode == 0
    before = run("history", person["nik"], "--json").stdout

    refused = run(
        "pay", person["nik"], "--amount", "1000", "--ref", "R-1", "--paid-on", "2025-01-08"
    )

    assert refused.returncode == 1
    assert "[amount_not_whole_months]" in refused.stderr
    assert run("history", person["nik"], "--json").stdout == before


def test_a_bad_database_url_is_a_configuration_error(run) -> None:
    env_override = dict(os.environ, LEDGER_DATABASE_URL="mysql://nowhere/db")
    result = subprocess.run(
        [LEDGER, "status", "1271015505900001"],
        env=env_override,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "LEDGER_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_issues_late_payment_is_accepted(run, tmp_path: Path) -> None:
    """Issue 21: after B3 (March 10) settled the unpaid February, B2 (February 10) arrives."""
    person = enrollment(enrolled_on="2026-01-05", declared_income=1_000_000)  # Rp 16,800 a month
    sheet = tmp_path / "one.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ENROLLMENT_COLUMNS))
        writer.writeheader()
        writer.writerow(person)
    assert run("import", "enrollments", str(sheet)).returncode == 0
    nik = person["nik"]
    assert (
        run("pay", nik, "--amount", "16800", "--ref", "B1", "--paid-on", "2026-01-10").returncode
        == 0
    )
    b3 = run("pay", nik, "--amount", "16800", "--ref", "B3", "--paid-on", "2026-03-10")
    assert "2026-02..2026-02" in b3.stdout, b3.stderr

    b2 = run("pay", nik, "--amount", "16800", "--ref", "B2", "--paid-on", "2026-02-10")

    assert b2.returncode == 0, b2.stderr
    assert "2026-02..2026-02" in b2.stdout
    events = json.loads(run("history", nik, "--json").stdout)["events"]
    assert [e["type"] for e in events][-2:] == ["ContributionsResettled", "ContributionPaid"]
    [move] = events[-2]["data"]["moves"]
    assert (move["payment_ref"], move["was_first_month"], move["first_month"]) == (
        "B3",
        "2026-02",
        "2026-03",
    )
    status = json.loads(run("status", nik, "--json", "--as-of", "2026-03-31").stdout)
    assert (status["status"], status["paid_through"]) == ("active", "2026-03")

    # the two clocks: on February 28 as known now (B2 paid February) and as recorded
    # before B2 arrived (nothing paid on February 28 beyond January: grace)
    b3_recorded = events[-3]["recorded_at"]
    now = json.loads(run("status", nik, "--json", "--as-of", "2026-02-28").stdout)
    then = json.loads(
        run("status", nik, "--json", "--as-of", "2026-02-28", "--recorded-at", b3_recorded).stdout
    )
    assert (now["status"], now["paid_through"], now["recorded_at"]) == ("active", "2026-02", None)
    assert (then["status"], then["paid_through"], then["as_of"]) == (
        "grace",
        "2026-01",
        "2026-02-28",
    )
    assert then["recorded_at"] == b3_recorded and then["position"] < now["position"]
    known_then = json.loads(run("history", nik, "--json", "--recorded-at", b3_recorded).stdout)
    assert [e["type"] for e in known_then["events"]] == [
        "Enrolled",
        "ContributionPaid",
        "ContributionPaid",
    ]
    in_effect = json.loads(run("history", nik, "--json", "--as-of", "2026-02-28").stdout)
    assert [
        (e["type"], e["data"].get("payment_ref") or e["data"].get("cause_ref"))
        for e in in_effect["events"]
    ] == [
        ("Enrolled", None),
        ("ContributionPaid", "B1"),
        ("ContributionsResettled", "B2"),
        ("ContributionPaid", "B2"),
    ]  # B3, paid March 10, is not in effect yet
    assert in_effect["as_of"] == "2026-02-28"
