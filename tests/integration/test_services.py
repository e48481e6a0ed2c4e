"""The application services on both stores: what every way in calls.

Writes answer with the log position they reached; queries mask personal data unless the
viewer may see it; coverage and replay reflect the head of the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import pytest

from api.services import Update, Viewer
from api.services import participants as people
from api.services import projections as admin
from api.services.coverage import coverage
from api.services.imports import ENROLLMENT_COLUMNS, import_csv
from api.services.replay import replay
from domain.commands import (
    ApproveClaim,
    ChangeProgrammes,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    parse,
)
from domain.errors import LedgerError
from infra.bootstrap import System, build_system
from infra.settings import Settings
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment
from tests.integration.test_imports import write_csv


def enrolled(system: System, **overrides: object) -> tuple[str, str]:
    """(participant id, NIK) of a worker enrolled through the service."""
    row = enrollment(**overrides)
    answer = people.enroll(system, row)
    return str(answer.participant_id), row["nik"]


def test_writes_answer_with_the_log_position_they_reached(system: System) -> None:
    row = enrollment(enrolled_on="2025-01-06")
    first = people.enroll(system, row)
    assert first.position == system.head() and not first.replayed

    paid = people.pay(
        system, row["nik"], amount=3 * MONTHLY_JKK_JKM_1_5M, payment_ref="R-1", paid_on="2025-01-08"
    )
    assert paid.position == system.head() > first.position
    assert (str(paid.first_month), str(paid.last_month), paid.months) == ("2025-01", "2025-03", 3)
    assert paid.as_dict()["position"] == paid.position

    again = people.pay(
        system,
        str(first.participant_id),
        amount=3 * MONTHLY_JKK_JKM_1_5M,
        payment_ref="R-1",
        paid_on="2025-01-08",
    )
    assert again.replayed and again.position == paid.position  # nothing new in the log
    assert people.enroll(system, row).replayed

    erased = people.erase(system, row["nik"])
    assert erased.participant_id == first.participant_id
    assert erased.position == system.head() > paid.position


def test_a_refused_command_raises_its_code_and_leaves_the_log(system: System) -> None:
    participant_id, _ = enrolled(system)
    before = system.head()
    with pytest.raises(LedgerError) as refused:
        people.pay(system, participant_id, amount=1000, payment_ref="R-9", paid_on="2024-02-01")
    assert refused.value.code == "amount_not_whole_months"
    assert system.head() == before


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        (Viewer.console(), False),
        (Viewer.console(reveal=True), True),
        (Viewer(role="registrar", reveal=True), True),
        (Viewer(role="reporter", reveal=True), False),  # reporters never see personal data
    ],
)
def test_status_and_history_show_personal_data_only_to_who_may_see_it(
    system: System, viewer: Viewer, sees: bool
) -> None:
    participant_id, nik = enrolled(system, name="Dewi Lestari")

    status = people.status(system, nik, as_of="2024-01-20", viewer=viewer)
    history = people.history(system, participant_id, viewer=viewer)

    body, events = status.as_dict(), str(history.as_dict())
    assert body["participant_id"] == participant_id and body["status"] == "pending"
    assert ("nik" in body, nik in events, "Dewi Lestari" in events) == (sees, sees, sees)
    assert (status.nik, status.name) == (
        (nik, "Dewi Lestari") if sees else (nik[:4] + "*" * 8 + nik[-4:], "D. L.")
    )


def test_after_erasure_personal_data_reads_as_erased_even_revealed(system: System) -> None:
    participant_id, nik = enrolled(system, name="Dewi Lestari")
    people.erase(system, nik)

    status = people.status(system, participant_id, viewer=Viewer.console(reveal=True))
    history = people.history(system, participant_id, viewer=Viewer.console(reveal=True))

    assert (status.nik, status.name, status.revealed) == ("(erased)", "(erased)", False)
    assert "nik" not in status.as_dict()
    assert history.events[0]["data"]["personal"] == "(erased)"


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        Viewer(role="visitor")


def test_coverage_catches_up_first_and_replay_compares_equal(system: System) -> None:
    participant_id, _ = enrolled(system, enrolled_on="2025-01-06")
    people.pay(
        system, participant_id, amount=MONTHLY_JKK_JKM_1_5M, payment_ref="R-1", paid_on="2025-01-08"
    )

    answer = coverage(system, period="2025-01", level="province")

    assert answer.position == system.head()
    assert [(r["region"], r["active"]) for r in answer.rows] == [("12", 1)]
    earlier = coverage(system, period="2025-01", recorded_at="2000-01-01")
    assert (earlier.total["active"], earlier.position, earlier.as_dict()["recorded_at"]) == (
        0,
        0,
        "2000-01-01T23:59:59.999999+00:00",
    )
    # the business clock: paid on January 8
    before, on = (
        coverage(system, period="2025-01", as_of=day) for day in ("2025-01-07", "2025-01-08")
    )
    assert (before.total["active"], on.total["active"]) == (0, 1)
    assert (on.as_dict()["as_of"], on.as_dict()["recorded_at"], on.position) == (
        "2025-01-08",
        None,
        system.head(),
    )
    compared = replay(system, compare=True, period="2025-01")
    assert (compared.equal, compared.active, compared.position) == (True, 1, system.head())
    with pytest.raises(LedgerError) as refused:
        replay(system, compare=True, until_position=1)
    assert refused.value.code == "compare_at_head"


def test_projections_status_rebuild_and_an_unknown_projection(system: System) -> None:
    enrolled(system)
    admin.catch_up(system)
    rows = admin.status(system).as_rows()
    assert {r["name"] for r in rows} == {
        "participant_status",
        "coverage",
        "coverage_flows",
        "coverage_log",
    }
    assert all(r["lag"] == 0 and r["head"] == system.head() for r in rows)

    rebuilt = admin.rebuild(system)
    assert set(rebuilt.generations) == {
        "participant_status",
        "coverage",
        "coverage_flows",
        "coverage_log",
    }
    with pytest.raises(admin.UnknownProjectionError) as refused:
        admin.rebuild(system, "nope")
    assert refused.value.code == "unknown_projection"


def test_import_reports_rows_and_writes_the_rejects_file(system: System, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "sheet.csv",
        ENROLLMENT_COLUMNS,
        [enrollment(), enrollment(village_code="12.71.01.9999")],
    )
    seen: list[tuple[str, int | None]] = []

    @contextmanager
    def tracker(label: str, total: int | None) -> Iterator[Update]:
        seen.append((label, total))
        yield lambda done, total: seen.append(("done", done))

    report = import_csv(system, "enrollments", sheet, tracker=tracker)

    assert (report.rows, report.accepted, report.rejected) == (2, 1, 1)
    assert report.rejects_path == tmp_path / "sheet.rejects.csv" and report.rejects_path.exists()
    assert seen == [("importing enrollments", 2), ("done", 2)]


def test_the_system_builds_its_parts_once_and_closes_once(settings: Settings) -> None:
    system = build_system(settings)
    assert system.committer is system.committer and system.runner is system.runner
    assert system.runner.store is system.views
    people.enroll(system, enrollment())

    system.close()
    system.close()  # a second close does nothing

    with pytest.raises(RuntimeError, match="closed"):
        system.committer.submit(parse(Enroll, enrollment()))
    with build_system(settings) as again:  # what the first wrote is durable
        assert again.head() == 2


def test_any_command_is_recorded_through_one_service_with_its_position(system: System) -> None:
    """The way the HTTP API and consumers record commands: kind and fields in, the
    ledger's answer and the log position out, for every kind of command."""
    enrolled = people.record(system, Enroll, enrollment(enrolled_on="2024-01-10"))
    pid = enrolled.participant_id
    assert enrolled.position == system.head() and pid is not None
    steps: list[tuple[type, dict[str, object]]] = [
        (
            RecordContribution,
            {
                "participant_id": pid,
                "payment_ref": "R-1",
                "channel": "bank",
                "amount": 3 * MONTHLY_JKK_JKM_1_5M,
                "paid_on": "2024-01-12",
            },
        ),
        (
            DeclareIncome,
            {
                "participant_id": pid,
                "declared_income": "2000000",
                "from_month": "2024-04",
                "declared_on": "2024-03-20",
            },
        ),
        (
            ChangeProgrammes,
            {
                "participant_id": pid,
                "programmes": "JKK+JKM+JHT",
                "from_month": "2024-04",
                "changed_on": "2024-03-21",
            },
        ),
        (
            CorrectDetails,
            {"participant_id": pid, "phone": "081311112222", "corrected_on": "2024-03-22"},
        ),
    ]
    last = enrolled.position
    for kind, fields in steps:
        answer = people.record(system, kind, fields)
        assert answer.position == system.head() > last, kind
        assert answer.as_dict()["participant_id"] == str(pid)
        last = answer.position
    filed = people.record(
        system,
        FileClaim,
        {
            "participant_id": pid,
            "programme": "JKK",
            "kind": "medical",
            "incident_date": "2024-02-05",
            "filed_on": "2024-02-06",
            "work_related": "yes",
        },
    )
    assert isinstance(filed.value, UUID) and filed.position == system.head()
    approved = people.record(
        system,
        ApproveClaim,
        {
            "participant_id": pid,
            "claim_id": str(filed.value),
            "amount": "1.000.000",
            "approved_on": "2024-02-10",
        },
    )
    paid = people.record(
        system, PayClaim, {"participant_id": pid, "claim_id": filed.value, "paid_on": "2024-02-12"}
    )
    assert (approved.value, approved.as_dict()["result"]) == (1_000_000, 1_000_000)
    assert approved.position is not None and filed.position is not None
    assert paid.position == system.head() > approved.position > filed.position
    with pytest.raises(LedgerError) as refused:
        people.record(system, RecordDeath, {"participant_id": pid, "died_on": "2999-01-01"})
    assert refused.value.code == "date_in_future" and system.head() == paid.position
