"""The two clocks, on SQLite and PostgreSQL (issue 21).

Random histories with late-recorded payments (a bank file recorded weeks after the money
was paid, settling earlier months and moving later ones) are asked, for random dates D
(`as_of`, the business clock) and recorded times T (`recorded_at`, the recording clock):
status, coverage, activity and history, on each clock and on both. Each answer must equal
an independent fold, written here, over the events filtered by that clock:

- recording clock: the events whose recorded time is at or before T;
- business clock: of those, the facts dated by D (the dates named in the test's own
  table below), a participant's months settled as the log had them settled at T.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import event as hypothesis_event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.services.coverage import coverage as coverage_service
from domain.coverage import status_on
from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.participant import Participant
from domain.values import Period
from infra.bootstrap import System, build_system
from infra.transcoder import recorded_time
from projections.clock_queries import coverage_at, position_at
from projections.queries import coverage
from tests.conftest import require_postgres
from tests.integration.test_projections import (
    ACTIVITY,
    EXAMPLES,
    HISTORY,
    PROGRAMMES,
    Driver,
    fresh_settings,
    log_events,
    month_of,
)
from tools.seed import seed_population

# The business date of each fact, written out here (not taken from domain.clocks).
DATED = {
    "Enrolled": "enrolled_on",
    "ContributionPaid": "paid_on",
    "ContributionsResettled": "cause_paid_on",
    "IncomeDeclared": "declared_on",
    "ProgrammesChanged": "changed_on",
    "DetailsCorrected": "corrected_on",
    "Died": "died_on",
    "Withdrew": "withdrawn_on",
    "PersonalDataErased": "erased_on",
    "ClaimFiled": "filed_on",
    "ClaimApproved": "approved_on",
    "ClaimRejected": "rejected_on",
    "ClaimPaid": "paid_on",
}


def dated(event: Any) -> date:
    day: date = getattr(event, DATED[type(event).__name__])
    return day


def on_clocks(events: Iterable[Any], at: datetime | None, day: date | None) -> list[Any]:
    return [
        e for e in events if (at is None or e.timestamp <= at) and (day is None or dated(e) <= day)
    ]


def fold(events: list[Any]) -> Participant | None:
    """The participant from a filtered sequence (versions may skip: apply each fact)."""
    if not events or not isinstance(events[0], Participant.Enrolled):
        return None
    participant = events[0].mutate(None)
    for e in events[1:]:
        e.apply(participant)
    return participant


def expected_counts(
    events: list[tuple[int, Any]], at: datetime | None, day: date | None, month: int
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """(covered per village, activity per village) for `month` on the clocks."""
    recorded = [e for _, e in events if at is None or e.timestamp <= at]
    # activity: where the worker's village stood when the fact was recorded
    village_now: dict[str, Any] = {}
    activity: dict[str, list[int]] = defaultdict(lambda: [0] * len(ACTIVITY))
    for e in recorded:
        pid = str(e.originator_id)
        if isinstance(e, Participant.Enrolled) or (
            isinstance(e, Participant.DetailsCorrected) and e.village is not None
        ):
            village_now[pid] = e.village
        if day is not None and dated(e) > day:
            continue
        index = {
            Participant.Enrolled: (0,),
            Participant.ContributionPaid: (1, 2),
            Participant.ClaimFiled: (3,),
            Participant.ClaimPaid: (4, 5),
        }.get(type(e))  # type: ignore[call-overload]
        if index is None or month_of(dated(e)) != month:
            continue
        cell = activity[village_now[pid]]
        cell[index[0]] += 1
        if len(index) == 2:
            cell[index[1]] += e.amount
    # coverage: fold each worker's facts on the clocks
    by_pid: dict[str, list[Any]] = defaultdict(list)
    timelines: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
    for e in recorded:
        by_pid[str(e.originator_id)].append(e)
        if isinstance(e, Participant.Enrolled):  # programmes of a month: as recorded
            timelines[str(e.originator_id)].append((month_of(e.enrolled_on), e.programmes))
        elif isinstance(e, Participant.ProgrammesChanged):
            timelines[str(e.originator_id)].append((e.from_month.index, e.programmes))
    covered: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for pid, facts in by_pid.items():
        p = fold(on_clocks(facts, None, day))
        if p is None:
            continue
        ends = [month_of(d) for d in (p.died_on, p.withdrawn_on) if d is not None]
        if ends and month > min(ends):
            continue
        if not any(s.first.index <= month <= s.last.index for s in p.payments):
            continue
        codes = min(timelines[pid], key=lambda t: t[0])[1]
        for start, candidate in sorted(timelines[pid], key=lambda t: t[0]):
            if start <= month:
                codes = candidate
        cell = covered[p.village]
        cell[0] += 1
        for code in codes:
            cell[1 + PROGRAMMES.index(code)] += 1
    return dict(covered), {k: v for k, v in activity.items() if any(v)}


def actual_counts(answer: dict[str, Any]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    covered = {
        r["region"]: [r["active"], *(r["by_programme"][p] for p in PROGRAMMES)]
        for r in answer["rows"]
        if r["active"] or any(r["by_programme"].values())
    }
    activity = {
        r["region"]: [r[c] for c in ACTIVITY] for r in answer["rows"] if any(r[c] for c in ACTIVITY)
    }
    return covered, activity


def check_clocks(ledger: Ledger, views: Any, rng: random.Random, rounds: int) -> None:
    """Random D and T against the independent folds; returns the answers' positions."""
    events = log_events(ledger)
    stamps = sorted({e.timestamp for _, e in events})
    months = sorted(
        {month_of(e.paid_on) for _, e in events if isinstance(e, Participant.ContributionPaid)}
        or {month_of(date(2024, 1, 1))}
    )
    everything = ledger.recorder.select_notifications(start=1, limit=100_000)
    for _ in range(rounds):
        at = rng.choice([None, rng.choice(stamps), rng.choice(stamps) - timedelta(microseconds=1)])
        day = rng.choice([None, date(2024, 1, 1) + timedelta(days=rng.randrange(0, 760))])
        month = rng.choice(months) + rng.choice([0, 0, 1, -1])
        position = None
        if at is not None:
            position = position_at(ledger.recorder, ledger.mapper, at)
            assert (
                position_at(ledger.recorder, ledger.mapper, at, quick_stamp=recorded_time)
                == position
            )
            assert position == max(
                (n.id for n in everything if ledger.mapper.to_domain_event(n).timestamp <= at),  # type: ignore[attr-defined]
                default=0,
            )
        answer = coverage_at(
            views,
            period=Period(month),
            level="village",
            as_of=day,
            recorded_at=at,
            position=position,
        )
        assert answer["position"] == (
            position if position is not None else ledger.recorder.max_notification_id()
        )
        assert actual_counts(answer) == expected_counts(events, at, day, month), (at, day, month)
        if at is None and day is None:  # no clock: the live projection, cell for cell
            live = coverage(views, period=Period(month), level="village")
            assert actual_counts(live) == actual_counts(answer)
        # status and history of a random participant on the same clocks
        pid = rng.choice(sorted({str(e.originator_id) for _, e in events}))
        own = [e for _, e in events if str(e.originator_id) == pid]
        facts = on_clocks(own, at, day)
        history = ledger.get_history(own[0].originator_id, as_of=day, recorded_at=at)
        assert [(type(e).__name__, e.originator_version) for e in history] == [
            (type(e).__name__, e.originator_version) for e in facts
        ]
        check_status(ledger, own, at, day or ledger.today())


def check_status(ledger: Ledger, own: list[Any], at: datetime | None, day: date) -> None:
    expected_participant = fold(on_clocks(own, at, day))
    try:
        actual = ledger.get_status(own[0].originator_id, as_of=day, recorded_at=at)
    except LedgerError as error:
        assert expected_participant is None, error
        assert error.code in ("not_enrolled_yet", "not_recorded_yet")
        return
    assert expected_participant is not None
    expected = status_on(expected_participant, day, ledger.rules)
    assert actual == replace(expected, participant_id=actual.participant_id)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_status_coverage_and_history_on_each_clock_equal_a_fold_of_the_filtered_events(
    store: str,
) -> None:
    if store == "postgres":
        require_postgres()

    # each example asks 8 random pairs of clocks: half the projections test's examples
    @hypothesis_settings(
        max_examples=max(EXAMPLES // 2, 5),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(history=HISTORY, seed=st.integers(0, 2**32 - 1))
    def check(history: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]], seed: int) -> None:
        enrolls, commands = history
        with fresh_settings(store) as settings, build_system(settings) as system:
            ledger, views = system.ledger, system.views
            runner = system.new_runner(page_size=7)
            driver = Driver(ledger)
            for command in [*enrolls, *commands]:
                if command[0] == "catch_up":
                    runner.catch_up()
                else:
                    driver.run(command)
            runner.catch_up()
            if driver.accepted.get("late_pay"):
                hypothesis_event("late payments recorded")
            check_clocks(ledger, views, random.Random(seed), rounds=8)

    check()


def test_a_store_seeded_today_is_empty_as_recorded_yesterday(system: System) -> None:
    """Issue 21: every event recorded today, as after a migration of historical records;
    asked through the coverage service, as every way in asks."""
    ledger = system.ledger
    report = seed_population(
        ledger, participants=60, months=12, seed=21, end=min(date(2025, 6, 30), ledger.today())
    )
    assert report.contributions > 100
    events = log_events(ledger)
    period = Period.parse("2025-03")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    empty = coverage_service(system, period=str(period), level="village", recorded_at=yesterday)
    assert (empty.total["active"], empty.rows, empty.position) == (0, [], 0)
    for day in (date(2025, 2, 10), date(2025, 3, 20), date(2025, 6, 30)):
        paid_by = {
            str(e.originator_id)
            for _, e in events
            if isinstance(e, Participant.ContributionPaid)
            and e.paid_on <= day
            and e.first_month <= period <= e.last_month
        }
        ended = {
            str(e.originator_id)
            for _, e in events
            if isinstance(e, (Participant.Died, Participant.Withdrew))
            and dated(e) <= day
            and month_of(dated(e)) < period.index
        }
        answer = coverage_service(system, period=str(period), as_of=day.isoformat())
        assert answer.total["active"] == len(paid_by - ended) > 0
        assert (answer.as_dict()["as_of"], answer.position) == (day.isoformat(), system.head())
    assert (
        coverage_service(system, period=str(period), as_of="2025-02-10").total["active"]
        < coverage_service(system, period=str(period)).total["active"]
    )
