"""`tools.seed`: the synthetic population goes through the ledger's own commands, is
refused nothing, matches the store, and is the same for the same seed on any store."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import get_topic
from lokal import normalize_phone
from pydantic import SecretStr

from domain.ledger import Ledger
from domain.participant import Participant
from domain.values import Nik, Period
from infra.bootstrap import System, build_system
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER
from tools.seed import PAY, SeedError, SeedReport, plan_population, seed_population

JAVA = ("31", "32", "33", "34", "35", "36")


def seed_end(ledger: Ledger) -> date:
    """A fixed end, so a run is the same whatever day the tests run on."""
    return min(date(2025, 6, 30), ledger.today())


def sqlite_system_at(path: Path) -> System:
    return build_system(
        Settings(
            database_url=f"sqlite:///{path / 'ledger.db'}",
            var_dir=path / "var",
            nik_pepper=SecretStr(TEST_PEPPER),
            master_key=SecretStr(TEST_MASTER_KEY),
        )
    )


@pytest.fixture
def other_sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    path = tmp_path / "other"
    path.mkdir()
    with sqlite_system_at(path) as system:
        yield system.ledger


def topic_counts(ledger: Ledger) -> tuple[int, Counter[str]]:
    """All notifications in the log, and how many of each event class."""
    counts: Counter[str] = Counter()
    total, start = 0, 1
    while True:
        page = ledger.recorder.select_notifications(start=start, limit=1000)
        if not page:
            return total, counts
        for notification in page:
            counts[notification.topic] += 1
        total += len(page)
        start = page[-1].id + 1


def facts(ledger: Ledger, report: SeedReport) -> list[tuple[Any, ...]]:
    """What the ledger says about each seeded person, without the random ids."""
    rows = []
    for nik in report.niks:
        participant_id = ledger.find_participant(nik)
        assert participant_id is not None, nik
        status = ledger.get_status(participant_id, as_of=report.end)
        personal = ledger.get_personal_data(participant_id)
        assert personal is not None
        claims = ledger.get_participant(participant_id).claims.values()
        rows.append(
            (
                nik,
                personal["name"],
                personal["birth_date"],
                personal["phone"],
                status.village,
                status.enrolled_on,
                status.status,
                str(status.paid_through),
                status.programmes,
                status.declared_income,
                status.jht_balance,
                status.arrears_amount,
                sorted(
                    (c["programme"], c["kind"], c["incident_date"], c["status"], c["amount"])
                    for c in claims
                ),
            )
        )
    return sorted(rows)


def test_seed_is_refused_nothing_and_matches_the_store(ledger: Ledger) -> None:
    calls: list[tuple[int, int]] = []
    report = seed_population(
        ledger,
        participants=200,
        months=12,
        seed=3,
        end=seed_end(ledger),
        batch_size=100,
        progress=lambda done, total: calls.append((done, total)),
    )

    events, counts = topic_counts(ledger)
    assert events == report.events > 0
    topic = {
        cls: get_topic(cls)
        for cls in (
            Participant.Enrolled,
            Participant.ContributionPaid,
            Participant.Died,
            Participant.Withdrew,
            Participant.IncomeDeclared,
            Participant.ProgrammesChanged,
            Participant.ClaimFiled,
            Participant.ClaimApproved,
            Participant.ClaimRejected,
            Participant.ClaimPaid,
        )
    }
    assert counts[topic[Participant.Enrolled]] == report.participants == 200
    assert counts[topic[Participant.ContributionPaid]] == report.contributions > 200
    assert counts[topic[Participant.Died]] == report.deaths
    assert counts[topic[Participant.Withdrew]] == report.withdrawals
    assert counts[topic[Participant.IncomeDeclared]] == report.income_declarations
    assert counts[topic[Participant.ProgrammesChanged]] == report.programme_changes
    assert counts[topic[Participant.ClaimFiled]] == report.claims_filed
    assert counts[topic[Participant.ClaimApproved]] == report.claims_approved
    assert counts[topic[Participant.ClaimRejected]] == report.claims_rejected
    assert counts[topic[Participant.ClaimPaid]] == report.claims_paid

    assert len(report.niks) == len(set(report.niks)) == 200
    for nik, participant_id in zip(report.niks, report.participant_ids, strict=True):
        assert ledger.find_participant(nik) == participant_id

    statuses = Counter(
        ledger.get_status(pid, as_of=report.end).status
        for pid in report.participant_ids
        if pid is not None
    )
    assert statuses["deceased"] == report.deaths
    assert statuses["withdrawn"] == report.withdrawals
    # A campaign's population a year on: most paying, some behind, some never started.
    assert statuses["active"] > 100
    assert statuses["grace"] + statuses["lapsed"] > 0
    assert statuses["pending"] > 0

    dones = [done for done, _ in calls]
    assert dones == sorted(dones)
    assert (
        calls[-1][0]
        == calls[-1][1]
        == 200
        + report.contributions
        + (
            report.deaths
            + report.withdrawals
            + report.income_declarations
            + report.programme_changes
            + report.claims_filed
            + report.claims_approved
            + report.claims_rejected
            + report.claims_paid
        )
    )
    assert set(report.as_dict()) >= {
        "participants",
        "contributions",
        "events",
        "deaths",
        "withdrawals",
        "claims_filed",
        "claims_paid",
        "elapsed_seconds",
    }
    assert "niks" not in report.as_dict()


def test_the_same_seed_gives_the_same_facts_on_any_store(
    ledger: Ledger, other_sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    end = seed_end(ledger)
    first = seed_population(ledger, participants=200, months=12, seed=11, end=end)
    # The other ledger replays everyone in one date order, from a plan made beforehand
    # (as the benchmarks do): the facts are the same.
    plan = plan_population(participants=200, months=12, seed=11, end=end)
    with pytest.raises(ValueError, match="not this seed's"):
        seed_population(
            other_sqlite_ledger, participants=200, months=12, seed=12, end=end, plan=plan
        )
    second = seed_population(
        other_sqlite_ledger,
        participants=200,
        months=12,
        seed=11,
        end=end,
        batch_size=64,
        chronological=True,
        plan=plan,
    )
    assert first.niks == second.niks
    assert {k: v for k, v in first.as_dict().items() if k != "elapsed_seconds"} == {
        k: v for k, v in second.as_dict().items() if k != "elapsed_seconds"
    }
    assert facts(ledger, first) == facts(other_sqlite_ledger, second)

    path = tmp_path / "third"
    path.mkdir()
    third_system = sqlite_system_at(path)
    third_ledger = third_system.ledger
    try:
        third = seed_population(third_ledger, participants=200, months=12, seed=12, end=end)
        assert not set(third.niks) & set(first.niks)
        assert facts(third_ledger, third) != facts(ledger, first)
    finally:
        third_system.close()


def test_seeding_the_same_seed_twice_is_refused(ledger: Ledger) -> None:
    end = seed_end(ledger)
    seed_population(ledger, participants=20, months=3, seed=5, end=end)
    with pytest.raises(SeedError, match="already holds seed 5"):
        seed_population(ledger, participants=20, months=3, seed=5, end=end)


def test_the_period_must_be_past_and_under_the_rules(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="after today"):
        seed_population(
            ledger, participants=5, months=2, seed=1, end=date(ledger.today().year + 1, 1, 1)
        )
    with pytest.raises(ValueError, match="before the first programme rules"):
        seed_population(ledger, participants=5, months=24, seed=1, end=date(2016, 6, 30))
    assert ledger.recorder.max_notification_id() in (None, 0)


def test_a_larger_population_dies_claims_and_lapses(sqlite_ledger: Ledger) -> None:
    report = seed_population(
        sqlite_ledger, participants=1000, months=24, seed=2024, end=seed_end(sqlite_ledger)
    )
    assert report.participants == 1000
    assert report.deaths >= 1
    assert report.withdrawals >= 1
    assert report.claims_paid >= 1
    assert report.claims_filed >= report.claims_approved + report.claims_rejected
    assert report.income_declarations >= 1
    statuses = Counter(
        sqlite_ledger.get_status(pid, as_of=report.end).status
        for pid in report.participant_ids
        if pid is not None
    )
    for status in ("active", "grace", "lapsed", "pending", "deceased", "withdrawn"):
        assert statuses[status] >= 1, statuses
    assert statuses["active"] > 400


def test_the_plan_looks_like_a_village_campaign() -> None:
    end = date(2025, 6, 30)
    plan = plan_population(participants=3000, months=24, seed=8, end=end)
    again = plan_population(participants=3000, months=24, seed=8, end=end)
    assert plan.people == again.people and plan.actions == again.actions
    people = plan.people
    first_month = Period.containing(end) + -23

    # Villages clustered (about one per 50 to 200 people), a few per district.
    villages = Counter(p.village_code for p in people)
    districts = {v[:8] for v in villages}
    assert 3000 / 200 - 3 <= len(villages) <= 3000 / 50 + 3
    assert len(districts) < len(villages)
    java = sum(1 for p in people if p.village_code[:2] in JAVA)
    assert java > 0.3 * len(people)

    niks = [p.nik for p in people]
    assert len(set(niks)) == len(niks)
    issued_here = 0
    for p in people:
        nik = Nik.parse(p.nik)
        nik.check_person(sex=p.sex, birth_date=p.birth_date)
        issued_here += p.nik[:6] == p.village_code.replace(".", "")[:6]
        age = (
            p.enrolled_on.year
            - p.birth_date.year
            - ((p.enrolled_on.month, p.enrolled_on.day) < (p.birth_date.month, p.birth_date.day))
        )
        assert 18 <= age <= 60
        assert first_month.first_day <= p.enrolled_on <= end
        assert p.phone is None or normalize_phone(p.phone) is not None
        assert 1_000_000 <= p.declared_income <= 20_700_000
        if p.channel == "perisai":
            assert p.agent_id is not None
            assert re.fullmatch(rf"AG-{p.village_code[:5].replace('.', '')}-\d{{3}}", p.agent_id)
    assert issued_here > 0.8 * len(people)
    assert sum(p.declared_income <= 3_000_000 for p in people) > 0.75 * len(people)
    assert 0.15 < sum("JHT" in p.programmes for p in people) / len(people) < 0.25
    channels = Counter(p.channel for p in people)
    assert channels.most_common(1)[0][0] == "perisai"
    assert set(channels) == {"perisai", "village_office", "partner", "branch_office", "online"}
    # Front-loaded: more enrollments in the first half of the period than in the second.
    midpoint = (first_month + 12).first_day
    assert sum(p.enrolled_on < midpoint for p in people) > 0.6 * len(people)

    # Payments: unique references, never after the end, in date order per person,
    # mostly on days 1 to 28; some pay several months at once.
    payments = [a for a in plan.actions if a.kind == PAY]
    refs = [a.args["payment_ref"] for a in payments]
    assert len(set(refs)) == len(refs)
    assert all(a.day <= end for a in plan.actions)
    last_paid: dict[int, date] = {}
    for a in payments:
        assert a.args["paid_on"] >= last_paid.get(a.person, date.min)
        last_paid[a.person] = a.args["paid_on"]
    assert all(a.args["amount"] >= 16_800 for a in payments)
    assert sum(a.args["amount"] >= 3 * 16_800 for a in payments) > 0
