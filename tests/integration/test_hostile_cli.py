"""Every way in refuses bad input with a code (issue 20): arbitrary bytes and CSV shapes to
both imports, arbitrary strings to the command line's options. Exit 0 or 1 (2 for usage),
never 70 (kept for real bugs), never a traceback, and the log untouched by a refusal.

The CLI runs in-process (`api.cli.main`, as the console script does) on one SQLite store
per test, so a few hundred invocations fit in well under a minute.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import main
from domain.commands import Enroll, parse
from infra.bootstrap import build_system
from infra.imports import CONTRIBUTION_COLUMNS, ENROLLMENT_COLUMNS
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER
from tests.factories import enrollment

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Cli:
    """`ledger ARGS...` in this process: exit code, stdout, stderr."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder = folder
        self.capsys = capsys
        self.env = {
            "LEDGER_DATABASE_URL": f"sqlite:///{folder / 'ledger.db'}",
            "LEDGER_VAR_DIR": str(folder / "var"),
            "LEDGER_NIK_PEPPER": TEST_PEPPER,
            "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
            "COLUMNS": "200",
        }
        self.settings = Settings(
            database_url=self.env["LEDGER_DATABASE_URL"],
            var_dir=folder / "var",
            nik_pepper=TEST_PEPPER,
            master_key=TEST_MASTER_KEY,
        )

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        with (
            mock.patch.dict(os.environ, self.env),
            mock.patch.object(sys, "argv", ["ledger", *args]),
            pytest.raises(SystemExit) as exited,
        ):
            main()
        code = exited.value.code
        captured = self.capsys.readouterr()
        return (
            (code if isinstance(code, int) else (0 if code is None else 1)),
            captured.out,
            captured.err,
        )

    def head(self) -> int:
        with build_system(self.settings) as system:
            return system.head()


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    runner = Cli(tmp_path, capsys)
    with build_system(runner.settings) as system:  # a little history for queries and payments
        system.ledger.enroll_many(
            [parse(Enroll, enrollment(enrolled_on="2024-01-10")) for _ in range(3)]
        )
    return runner


def assert_clean(result: tuple[int, str, str], allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    code, out, err = result
    assert code in allowed, (code, out, err)
    assert "Traceback" not in out + err and "internal error" not in err, err


# --- item 1: the explicit cases ----------------------------------------------------------


def test_the_reported_argument_cases_are_refused_with_codes(cli: Cli, tmp_path: Path) -> None:
    head = cli.head()
    code, _, err = cli("coverage", "--period", "0000-01")
    assert code == 1 and "[invalid_period]" in err
    code, _, err = cli("coverage", "--csv", str(tmp_path / "missing" / "x.csv"))
    assert code == 1 and "[output_unwritable]" in err
    (tmp_path / "adir").mkdir()
    code, _, err = cli("coverage", "--csv", str(tmp_path / "adir"))
    assert code == 1 and "[output_unwritable]" in err
    code, _, err = cli("projections", "run", "--poll", "-1")
    assert code == 2 and "Traceback" not in err
    code, _, err = cli("coverage", "--region", "nonsense", "--json")
    assert code == 1 and "[invalid_region]" in err
    code, _, err = cli("coverage", "--region", "99", "--json")
    assert code == 1 and "[unknown_region]" in err
    assert cli.head() == head


def test_an_existing_region_with_no_one_answers_zero(cli: Cli) -> None:
    code, out, _ = cli(
        "coverage", "--period", "2024-02", "--level", "province", "--region", "33", "--json"
    )
    assert code == 0
    answer = orjson.loads(out)
    assert answer["rows"] == [] and answer["total"]["active"] == 0 and answer["region"] == "33"
    code, out, _ = cli(
        "coverage", "--period", "2024-02", "--level", "province", "--region", "12", "--json"
    )
    assert code == 0 and orjson.loads(out)["total"]["active"] == 0  # enrolled, nothing paid


def test_a_csv_over_a_symlink_replaces_the_link_not_its_target(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep\n")
    (tmp_path / "report.csv").symlink_to(target)
    code, _, _ = cli("coverage", "--period", "2024-01", "--csv", str(tmp_path / "report.csv"))
    assert code == 0 and target.read_text() == "keep\n"
    assert (tmp_path / "report.csv").read_text().startswith("period,level,region")


def test_terminal_controls_in_a_refusal_are_shown_escaped(cli: Cli) -> None:
    code, _, err = cli("coverage", "--period", "\x1b[2J\x1b[31mevil\x07")
    assert code == 1 and "[invalid_period]" in err
    assert "\x1b[2J" not in err and "\x07" not in err and "\\x1b[2J" in err


def test_an_undecodable_import_exits_1_naming_the_row(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"nik,name\n\xff\n")
    code, _, err = cli("import", "enrollments", str(path))
    assert code == 1 and "[not_utf8]" in err and "Row 1" in err


# --- the fuzz -----------------------------------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "0",
            "1e309",
            "nan",
            "0000-01",
            "9999-12",
            "2024-13",
            "2024-01",
            "2024-01-31",
            "\x1b[31m",
            "\udcff",
            "12",
            "33.21",
            "3321",
            "village",
            "JHT",
            "jkk",
            "--json",
            "-",
            "1271015505900001",
            "00000000-0000-0000-0000-000000000000",
            "1" * 400,
        ]
    ),
)
LEVEL = st.one_of(st.sampled_from(["nation", "province", "regency", "district", "village"]), TEXT)


def option_cases() -> st.SearchStrategy[list[str]]:
    def opt(name: str, value: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
        return st.one_of(st.just([]), value.map(lambda v: [name, v]))

    def command(*parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
        return st.tuples(*parts).map(lambda chunks: [a for chunk in chunks for a in chunk])

    fixed = st.just
    return st.one_of(
        command(
            fixed(["coverage"]),
            opt("--period", TEXT),
            opt("--level", LEVEL),
            opt("--region", TEXT),
            opt("--programme", TEXT),
            opt("--as-of", TEXT),
            st.sampled_from([[], ["--json"], ["--csv", "-"]]),
        ),
        command(
            fixed(["status"]),
            TEXT.map(lambda v: [v]),
            opt("--as-of", TEXT),
            st.sampled_from([[], ["--json"], ["--reveal"]]),
        ),
        command(fixed(["history"]), TEXT.map(lambda v: [v]), st.sampled_from([[], ["--json"]])),
        command(
            fixed(["pay"]),
            TEXT.map(lambda v: [v]),
            opt("--amount", TEXT),
            opt("--ref", TEXT),
            opt("--paid-on", TEXT),
            opt("--channel", TEXT),
            opt("--agent-id", TEXT),
        ),
        command(
            fixed(["replay"]),
            opt("--until-position", TEXT),
            opt("--as-of", TEXT),
            opt("--period", TEXT),
            st.sampled_from([[], ["--json"]]),
        ),
        command(fixed(["projections", "rebuild"]), TEXT.map(lambda v: [v])),
        command(
            fixed(["projections", "run"]),  # never a valid poll: that would follow forever
            st.sampled_from(["-1", "-0.5", "0", "nan", "x", "-inf", "\udcff"]).map(
                lambda v: ["--poll", v]
            ),
        ),
        command(fixed(["erase"]), TEXT.map(lambda v: [v]), fixed(["--yes"])),
    )


def test_arbitrary_options_never_crash(cli: Cli) -> None:
    @FUZZ
    @given(option_cases())
    def check(args: list[str]) -> None:
        head = cli.head()
        code, out, err = cli(*args)
        assert_clean((code, out, err))
        if code != 0:
            assert cli.head() == head, args  # a refusal records nothing

    check()


def csv_bytes(columns: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


def shaped_files(columns: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or CSV with the right, missing, extra or repeated columns and cells
    of any text (sometimes a valid enrollment)."""
    header = st.lists(st.one_of(st.sampled_from(columns), st.text(max_size=8)), max_size=16)
    valid = st.builds(lambda: [str(v) for v in enrollment().values()])
    cell_rows = st.lists(st.one_of(st.lists(TEXT, max_size=16), valid), max_size=6)
    return st.one_of(
        st.binary(max_size=600),
        st.builds(csv_bytes, st.one_of(st.just(list(columns)), header), cell_rows),
        st.builds(
            lambda body, junk: body + junk,
            st.builds(csv_bytes, st.just(list(columns)), cell_rows),
            st.binary(max_size=40),
        ),
    )


@pytest.mark.parametrize(
    ("kind", "columns"),
    [("enrollments", ENROLLMENT_COLUMNS), ("contributions", CONTRIBUTION_COLUMNS)],
)
def test_arbitrary_import_files_never_crash(
    cli: Cli, tmp_path: Path, kind: str, columns: tuple[str, ...]
) -> None:
    path = tmp_path / "input.csv"

    @FUZZ
    @given(shaped_files(columns))
    def check(content: bytes) -> None:
        path.write_bytes(content)
        head = cli.head()
        code, out, err = cli("import", kind, str(path), "--json")
        assert_clean((code, out, err), allowed=(0, 1))
        if code == 1:
            assert cli.head() == head  # the file was refused whole
            return
        report: dict[str, Any] = orjson.loads(out)
        # Only accepted rows reach the log: two events each (the fact and its index).
        assert cli.head() - head == 2 * report["accepted"], report
        rejects = tmp_path / "input.rejects.csv"
        assert rejects.exists() == (report["rejected"] > 0)

    check()


def test_stored_control_characters_reach_the_terminal_escaped(cli: Cli) -> None:
    """Data recorded before text fields refused control characters still prints safely."""
    row = enrollment(name="Siti\x1b[31m Aminah\x07", enrolled_on="2024-01-10")
    with (
        build_system(cli.settings) as system,
        mock.patch("domain.text._FORBIDDEN", re.compile("(?!)")),
    ):  # as before the rule
        system.ledger.enroll(parse(Enroll, row))
    for command in (["status", row["nik"], "--reveal"], ["history", row["nik"], "--reveal"]):
        code, out, _ = cli(*command)
        assert code == 0
        assert "\x1b[31m" not in out and "\x07" not in out
        assert "\\x1b[31m" in out
