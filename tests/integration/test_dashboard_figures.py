"""The dashboard's figures on a seeded store (SQLite and PostgreSQL) against other ways
of counting the same things: the coverage queries the API and CLI use, and joins, lapses
and reinstatements counted afresh from the events in the log."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from api.services.dashboard import Dashboard, dashboard
from domain.errors import InvalidInputError
from domain.flows import membership_flows
from domain.ledger import Ledger
from domain.participant import Participant
from domain.values import Period
from infra.bootstrap import System
from projections.queries import activity_by, coverage
from projections.store import ViewStore
from tests.integration.test_projections import log_events
from tools.seed import seed_population

SEED_END = date(2025, 6, 30)
PERIOD = Period.of(2025, 6)


@pytest.fixture
def seeded(system: System) -> System:
    """The system on a store seeded with 400 participants, its read models caught up."""
    seed_population(system.ledger, participants=400, months=18, seed=31, end=SEED_END)
    system.runner.catch_up()
    return system


def expected_flows(ledger: Ledger) -> Counter[tuple[int, str, str]]:
    """(month, province, flow) counts from each participant's paid months in the log."""
    paid: dict[str, set[int]] = {}
    village: dict[str, str] = {}
    ended: dict[str, int] = {}
    for _, e in log_events(ledger):
        pid = str(e.originator_id)
        if isinstance(e, Participant.Enrolled):
            paid[pid], village[pid] = set(), e.village
        elif isinstance(e, Participant.ContributionPaid):
            paid[pid].update(range(e.first_month.index, e.first_month.index + e.months))
        elif isinstance(e, Participant.ContributionsResettled):  # a late payment's moves
            for move in e.moves:
                was = move["was_first_month"].index
                paid[pid].difference_update(range(was, was + move["was_months"]))
            for move in e.moves:
                now = move["first_month"].index
                paid[pid].update(range(now, now + move["months"]))
        elif isinstance(e, Participant.DetailsCorrected) and e.village is not None:
            village[pid] = e.village
        elif isinstance(e, Participant.Died | Participant.Withdrew):
            day = e.died_on if isinstance(e, Participant.Died) else e.withdrawn_on
            ended[pid] = min(ended.get(pid, Period.index_of(day)), Period.index_of(day))
    counts: Counter[tuple[int, str, str]] = Counter()
    for pid, months in paid.items():
        for month, flow in membership_flows(months, ended.get(pid), ledger.rules):
            counts[(month, village[pid][:2], flow)] += 1
    return counts


def check_against_queries(found: Dashboard, views: ViewStore) -> None:
    region = found.region or None
    level = found.child_level
    assert level is not None
    for row in found.months:
        month = Period.parse(row["period"])
        counts = coverage(views, period=month, level=found.level, region=region)
        assert row["active"] == counts["total"]["active"]
        assert row["by_programme"] == counts["total"]["by_programme"]
    now = coverage(views, period=PERIOD, level=level, region=region)
    before = coverage(views, period=PERIOD + -1, level=level, region=region)
    expected = {r["region"]: [r["active"], 0] for r in now["rows"]}
    for r in before["rows"]:
        expected.setdefault(r["region"], [0, 0])[1] = r["active"]
    assert {c["region"]: [c["active"], c["previous"]] for c in found.children} == {
        code: pair for code, pair in expected.items() if any(pair)
    }
    assert all(c["change"] == c["active"] - c["previous"] for c in found.children)
    channels = activity_by(views, period=PERIOD, by="channel", region=region)["rows"]
    assert found.channels == [
        {k: r[k] for k in ("channel", "enrollments", "contributions", "contribution_amount")}
        for r in channels
        if r["enrollments"] or r["contributions"]
    ]
    agents = activity_by(views, period=PERIOD, by="agent", region=region)["rows"]
    busiest = sorted(agents, key=lambda r: (-(r["enrollments"] + r["contributions"]), r["agent"]))
    assert [a["agent_id"] for a in found.agents] == [r["agent"] for r in busiest[:10]]


def test_figures_agree_with_the_coverage_queries_and_the_events(seeded: System) -> None:
    nation = dashboard(seeded, period=str(PERIOD))
    assert nation.position == nation.head == seeded.head() and nation.lag == 0
    assert nation.target["target"] == 70_000_000
    assert nation.target["nation_active"] == nation.months[-1]["active"] > 0
    assert [m["period"] for m in nation.months] == [str(PERIOD + -i) for i in range(11, -1, -1)]
    check_against_queries(nation, seeded.views)
    flows = expected_flows(seeded.ledger)
    for row in nation.months:
        month = Period.parse(row["period"]).index
        for flow in ("joined", "lapsed", "reinstated"):
            assert row[flow] == sum(
                n for (m, _, f), n in flows.items() if m == month and f == flow
            ), (row["period"], flow)
    assert sum(m["lapsed"] for m in nation.months) > 0
    assert sum(m["reinstated"] for m in nation.months) > 0

    province = max(nation.children, key=lambda c: c["active"])
    narrowed = dashboard(seeded, period=str(PERIOD), region=province["region"])
    assert narrowed.level == "province" and narrowed.child_level == "regency"
    assert narrowed.target["region_active"] == province["active"]
    assert narrowed.target["region_share"] == round(
        province["active"] / nation.target["nation_active"], 6
    )
    assert [t["region"] for t in narrowed.trail] == ["", province["region"]]
    check_against_queries(narrowed, seeded.views)
    for row in narrowed.months:
        month = Period.parse(row["period"]).index
        assert row["lapsed"] == flows[(month, province["region"], "lapsed")]

    # Plain digits name the same region; a village has nothing below it.
    assert (
        dashboard(seeded, period=str(PERIOD), region=province["region"].replace(".", "")).children
        == narrowed.children
    )
    village = dashboard(
        seeded, period=str(PERIOD), region=_a_village(seeded.views, province["region"])
    )
    assert village.level == "village" and village.child_level is None and village.children == []


def _a_village(views: ViewStore, province: str) -> str:
    rows = coverage(views, period=PERIOD, level="village", region=province)["rows"]
    return str(max(rows, key=lambda r: r["active"])["region"])


@pytest.mark.parametrize(
    ("period", "region", "code"),
    [
        ("2025-13", None, None),
        ("June", None, None),
        ("2025-06", "99", "unknown_region"),
        ("2025-06", "32.xx", "invalid_region"),
        ("2025-06", "32.76.01.1001.1", "invalid_region"),
    ],
)
def test_bad_month_or_region_is_refused_with_a_code(
    system: System, period: str, region: str | None, code: str | None
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        dashboard(system, period=period, region=region)
    if code is not None:
        assert refused.value.code == code
