"""`coverage_flows`: how many participants joined, lapsed and were reinstated, per month
and village (the coverage dashboard's "lapses and reinstatements").

- `coverage_flows`: per (month, village): `joined`, `lapsed`, `reinstated`, as
  `domain.flows.membership_flows` defines them: a lapse is counted once, in the month the
  status turns `lapsed` (after the grace), not every month a payment is late. A
  participant's flows count in their current village, as in `coverage_monthly`.
- `coverage_flow_members`: per participant, the village, the paid months as runs and the
  month membership ended. No personal data.

A participant's flows depend on all their paid months (a late payment within grace moves
the lapse), so each page recomputes the flows of the participants it touches before and
after, and adds the difference: the table is then a function of the events alone, and a
rebuild with other page boundaries equals it row for row (cells that net to zero go).
A separate projection, not more tables of `coverage`, so that an existing store builds it
from the log on its own while `coverage` stays as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import ClassVar

import orjson

from domain.flows import FLOWS, membership_flows, runs
from domain.participant import Participant
from domain.rules import RuleBook, default_rule_book
from domain.values import Period
from projections.projection import Event, Projection, keys_of
from projections.store import Tx

FLOWS_DDL = """CREATE TABLE {table} (
    month INTEGER NOT NULL, village TEXT NOT NULL,
    joined BIGINT NOT NULL, lapsed BIGINT NOT NULL, reinstated BIGINT NOT NULL,
    PRIMARY KEY (month, village)
) {without_rowid}"""

MEMBERS_DDL = """CREATE TABLE {table} (
    participant_id TEXT NOT NULL PRIMARY KEY, village TEXT NOT NULL, runs TEXT NOT NULL,
    ended INTEGER
) {without_rowid}"""

_COLUMN = {flow: 2 + i for i, flow in enumerate(FLOWS)}  # offset in a (month, village, ...) row


class _Member:
    __slots__ = ("ended", "months", "village")

    def __init__(self, village: str, months: set[int], ended: int | None) -> None:
        self.village = village
        self.months = months
        self.ended = ended


class CoverageFlowsProjection(Projection):
    name = "coverage_flows"
    handles = (
        Participant.Enrolled,
        Participant.ContributionPaid,
        Participant.ContributionsResettled,
        Participant.DetailsCorrected,
        Participant.Died,
        Participant.Withdrew,
    )
    tables: ClassVar[dict[str, str]] = {
        "coverage_flows": FLOWS_DDL,
        "coverage_flow_members": MEMBERS_DDL,
    }
    partitionable: ClassVar[bool] = True  # members per participant; flows are sums

    def __init__(self, rules: RuleBook | None = None) -> None:
        self.rules = rules or default_rule_book()

    def key_columns(self, table: str) -> str:
        return {"coverage_flows": "month, village", "coverage_flow_members": "participant_id"}[
            table
        ]

    def process(self, tx: Tx, names: dict[str, str], events: Sequence[Event]) -> None:
        pids = keys_of(events)
        members = self._load(tx, names["coverage_flow_members"], list(dict.fromkeys(pids)))
        cells: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self._add(cells, members, -1)  # the flows as they were before this page
        fold(members, pids, events)
        self._add(cells, members, +1)
        _write(tx, names, cells, members)

    bulk: ClassVar[bool] = True

    def bulk_state(self) -> dict[str, _Member]:
        return {}

    def bulk_fold(
        self,
        state: dict[str, _Member],
        keys: Sequence[str],
        events: Sequence[Event],
        positions: Sequence[int],
    ) -> None:
        fold(state, keys, events)

    def bulk_write(self, tx: Tx, names: dict[str, str], state: dict[str, _Member]) -> None:
        # The members are new: their flows are all there is to add, once each.
        cells: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self._add(cells, state, +1)
        _write(tx, names, cells, dict(sorted(state.items())))

    def _add(
        self, cells: dict[tuple[int, str], list[int]], members: dict[str, _Member], sign: int
    ) -> None:
        for member in members.values():
            for month, flow in membership_flows(member.months, member.ended, self.rules):
                cells[(month, member.village)][_COLUMN[flow] - 2] += sign

    def _load(self, tx: Tx, table: str, ids: list[str]) -> dict[str, _Member]:
        rows = tx.query_in(
            f"SELECT participant_id, village, runs, ended FROM {table}", "participant_id", ids
        )
        return {
            pid: _Member(
                village,
                {m for first, last in orjson.loads(runs) for m in range(first, last + 1)},
                ended,
            )
            for pid, village, runs, ended in rows
        }


def fold(members: dict[str, _Member], pids: Sequence[str], events: Sequence[Event]) -> None:
    """Apply events (`pids[i]` the participant of `events[i]`) to the members."""
    month_of = Period.index_of
    for pid, e in zip(pids, events, strict=True):
        if isinstance(e, Participant.ContributionPaid):
            first = e.first_month.index
            members[pid].months.update(range(first, first + e.months))
        elif isinstance(e, Participant.ContributionsResettled):
            # A late payment moved recorded payments to later months (issue 21): their
            # old months go, then their new ones come (spans never overlap, so a month
            # one move leaves may be one another move takes).
            paid = members[pid].months
            for move in e.moves:
                was = move["was_first_month"].index
                paid.difference_update(range(was, was + move["was_months"]))
            for move in e.moves:
                now = move["first_month"].index
                paid.update(range(now, now + move["months"]))
        elif isinstance(e, Participant.Enrolled):
            members[pid] = _Member(e.village, set(), None)
        elif isinstance(e, Participant.DetailsCorrected):
            if e.village is not None:
                members[pid].village = e.village
        else:  # Died, Withdrew: the earliest end counts
            day = e.died_on if isinstance(e, Participant.Died) else e.withdrawn_on
            member = members[pid]
            end = month_of(day)
            member.ended = end if member.ended is None else min(member.ended, end)


def _write(
    tx: Tx,
    names: dict[str, str],
    cells: dict[tuple[int, str], list[int]],
    members: dict[str, _Member],
) -> None:
    """Add the flows' increments and upsert the members."""
    changed = sorted((key, c) for key, c in cells.items() if any(c))
    table = names["coverage_flows"]
    tx.insert_rows(
        table,
        ("month", "village", *FLOWS),
        ("integer", "text", "bigint", "bigint", "bigint"),
        [(m, v, *c) for (m, v), c in changed],
        "ON CONFLICT (month, village) DO UPDATE SET "
        + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in FLOWS),
    )
    tx.executemany(
        f"DELETE FROM {table} WHERE month = ? AND village = ? "
        "AND joined = 0 AND lapsed = 0 AND reinstated = 0",
        [key for key, c in changed if min(c) < 0],
    )
    tx.insert_rows(
        names["coverage_flow_members"],
        ("participant_id", "village", "runs", "ended"),
        ("text", "text", "text", "integer"),
        [
            (pid, m.village, orjson.dumps(runs(m.months)).decode(), m.ended)
            for pid, m in members.items()
        ],
        "ON CONFLICT (participant_id) DO UPDATE SET village = excluded.village, "
        "runs = excluded.runs, ended = excluded.ended",
    )
