"""`coverage_log`: the coverage and activity counts on both clocks, kept as deltas.

Every change to a count is a row stamped with the recorded time and log position of the
event that made it (the recording clock) and the date from which it holds (the business
clock), so

- "as recorded at T" is the sum of the rows of the events recorded at or before T,
- "on date D" is the sum of the rows in effect by D,
- both at once is the sum of the rows that pass both,

each a range scan of one month's rows: no replay. The sum of all rows equals the live
`coverage` projection's cells (the tests hold it to that).

- `coverage_log_monthly`: per (month, recorded, position, village, effective day): covered
  participants and per programme. A paid month counts from its payment's `paid_on` in the
  village the corrections dated by then give; moves with each later-dated village
  correction; stops, if it lies after the month of a death or withdrawal, from that date
  (or from `paid_on`, if later). A month's programmes are those in force for it when it
  was counted (a programme change never reaches a paid month).
- `coverage_log_activity`: per event: enrollments, contributions, claims in the month and
  village (at the time) where they happened, in effect from their own date.
- `coverage_log_members`: per participant, what the deltas are computed from.

Days are stored as proleptic ordinals (`date.toordinal()`), recorded times as microseconds
since 1970 UTC (`recorded_micros`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

import orjson

from domain.participant import Participant
from domain.values import Period
from projections.coverage_log_member import Key, Member, recorded_micros
from projections.projection import Event, Projection, keys_of
from projections.store import Tx

MONTHLY = """CREATE TABLE {table} (
    month INTEGER NOT NULL, recorded BIGINT NOT NULL, position BIGINT NOT NULL,
    village TEXT NOT NULL, effective INTEGER NOT NULL,
    active BIGINT NOT NULL, jkk BIGINT NOT NULL, jkm BIGINT NOT NULL, jht BIGINT NOT NULL,
    PRIMARY KEY (month, recorded, position, village, effective)
) {without_rowid}"""

ACTIVITY = """CREATE TABLE {table} (
    month INTEGER NOT NULL, recorded BIGINT NOT NULL, position BIGINT NOT NULL,
    village TEXT NOT NULL,
    channel TEXT NOT NULL, agent_id TEXT NOT NULL, effective INTEGER NOT NULL,
    enrollments BIGINT NOT NULL, contributions BIGINT NOT NULL, contribution_amount BIGINT NOT NULL,
    claims_filed BIGINT NOT NULL, claims_paid BIGINT NOT NULL, benefits_paid BIGINT NOT NULL,
    PRIMARY KEY (month, recorded, position, village, channel, agent_id)
) {without_rowid}"""

MEMBERS = """CREATE TABLE {table} (
    participant_id TEXT NOT NULL PRIMARY KEY, state TEXT NOT NULL
) {without_rowid}"""

ACTIVITY_COLUMNS = (
    "enrollments",
    "contributions",
    "contribution_amount",
    "claims_filed",
    "claims_paid",
    "benefits_paid",
)


class CoverageLogProjection(Projection):
    name = "coverage_log"
    handles = (
        Participant.Enrolled,
        Participant.ContributionPaid,
        Participant.ContributionsResettled,
        Participant.ProgrammesChanged,
        Participant.DetailsCorrected,
        Participant.Died,
        Participant.Withdrew,
        Participant.ClaimFiled,
        Participant.ClaimPaid,
    )
    tables: ClassVar[dict[str, str]] = {
        "coverage_log_monthly": MONTHLY,
        "coverage_log_activity": ACTIVITY,
        "coverage_log_members": MEMBERS,
    }
    partitionable: ClassVar[bool] = True  # rows are per event (position), members per participant

    def key_columns(self, table: str) -> str:
        return {
            "coverage_log_monthly": "month, recorded, position, village, effective",
            "coverage_log_activity": "month, recorded, position, village, channel, agent_id",
            "coverage_log_members": "participant_id",
        }[table]

    def process(self, tx: Tx, names: dict[str, str], events: Sequence[Event]) -> None:
        raise TypeError("coverage_log needs the events' positions: use process_at")

    def process_at(
        self, tx: Tx, names: dict[str, str], events: Sequence[Event], positions: Sequence[int]
    ) -> None:
        pids = keys_of(events)
        state = _State(self._load(tx, names["coverage_log_members"], list(dict.fromkeys(pids))))
        fold(state, pids, events, positions)
        _write_deltas(tx, names, sorted(state.monthly.items()), state.activity)
        _write_members(tx, names, state.members)

    bulk: ClassVar[bool] = True

    def bulk_state(self) -> _State:
        return _State({})

    def bulk_fold(
        self, state: _State, keys: Sequence[str], events: Sequence[Event], positions: Sequence[int]
    ) -> None:
        fold(state, keys, events, positions)

    flushes: ClassVar[bool] = True

    def bulk_flush(self, tx: Tx, names: dict[str, str], state: _State) -> None:
        # The deltas' rows are per event: final once folded. They go in as folded, in log
        # order: their keys (month, recorded, position, ...) then grow within each month,
        # so the B-tree is appended to at one place per month. Sorting them first cost
        # more than it saved (at 100,000 participants this write took 7.8 s unsorted
        # against 11.0 s sorted).
        _write_deltas(tx, names, list(state.monthly.items()), state.activity)
        state.clear_deltas()

    def bulk_write(self, tx: Tx, names: dict[str, str], state: _State) -> None:
        self.bulk_flush(tx, names, state)
        _write_members(tx, names, dict(sorted(state.members.items())))

    @staticmethod
    def _change(member: Member, e: Event) -> None:
        if isinstance(e, Participant.ContributionsResettled):
            moved = {m["was_first_month"].index: m for m in e.moves}
            member.spans = [
                [moved[first]["first_month"].index, moved[first]["months"], paid_on]
                if first in moved
                else [first, months, paid_on]
                for first, months, paid_on in member.spans
            ]
        elif isinstance(e, Participant.DetailsCorrected):
            if e.village is not None:
                member.corrections.append([e.corrected_on.toordinal(), e.village])
        elif isinstance(e, Participant.Died):
            member.ends.append(e.died_on.toordinal())
        elif isinstance(e, Participant.Withdrew):
            member.ends.append(e.withdrawn_on.toordinal())

    def _load(self, tx: Tx, table: str, ids: list[str]) -> dict[str, Member]:
        rows = tx.query_in(f"SELECT participant_id, state FROM {table}", "participant_id", ids)
        return {pid: Member(orjson.loads(state)) for pid, state in rows}


class _State:
    """What a page (or a bulk build) changes: the members it touches, and the rows of
    the deltas its events make."""

    __slots__ = ("activity", "members", "monthly")

    def __init__(self, members: dict[str, Member]) -> None:
        self.members = members
        self.clear_deltas()

    def clear_deltas(self) -> None:
        """Forget the deltas' rows (written)."""
        self.monthly: dict[tuple[int, int, int, str, int], list[int]] = defaultdict(
            lambda: [0, 0, 0, 0]
        )
        self.activity: list[tuple[Any, ...]] = []


def fold(
    state: _State, pids: Sequence[str], events: Sequence[Event], positions: Sequence[int]
) -> None:
    """Apply events (`pids[i]` the participant, `positions[i]` the log position of
    `events[i]`) to the members, adding the rows of the deltas they make."""
    members, monthly, activity = state.members, state.monthly, state.activity
    stamps = [recorded_micros(e.timestamp) for e in events]

    def add(i: int, rows: Counter[Key]) -> None:
        for (month, village, effective, offsets), sign in rows.items():
            if sign:
                cell = monthly[(month, stamps[i], positions[i], village, effective)]
                cell[0] += sign
                for offset in offsets:
                    cell[offset] += sign

    def act(
        i: int, day: date, village: str, channel: str, agent: str, counts: tuple[int, ...]
    ) -> None:
        activity.append(
            (
                Period.index_of(day),
                stamps[i],
                positions[i],
                village,
                channel,
                agent,
                day.toordinal(),
                *counts,
            )
        )

    month_of = Period.index_of
    for i, (pid, e) in enumerate(zip(pids, events, strict=True)):
        if isinstance(e, Participant.ContributionPaid):  # most events: only its own rows
            member = members[pid]
            day = e.paid_on
            paid_on = day.toordinal()
            first = e.first_month.index
            months = e.months
            member.spans.append([first, months, paid_on])
            stamp, position = stamps[i], positions[i]
            if member.ends or member.corrections:
                rows: Counter[Key] = Counter()
                for month in range(first, first + months):
                    member.month_rows(month, paid_on, rows)
                add(i, rows)
            else:  # the usual case: one step up per month, from the day it was paid
                village = member.village
                for month in range(first, first + months):
                    cell = monthly[(month, stamp, position, village, paid_on)]
                    cell[0] += 1
                    for offset in member.offsets(month):
                        cell[offset] += 1
            # `act`, inlined on the hot path
            activity.append(
                (
                    month_of(day),
                    stamp,
                    position,
                    member.current_village(),
                    e.channel,
                    e.agent_id or "",
                    paid_on,
                    0,
                    1,
                    e.amount,
                    0,
                    0,
                    0,
                )
            )
        elif isinstance(e, Participant.Enrolled):
            members[pid] = Member(
                {
                    "village": e.village,
                    "corrections": [],
                    "spans": [],
                    "ends": [],
                    "programmes": [[Period.index_of(e.enrolled_on), "+".join(e.programmes)]],
                }
            )
            act(i, e.enrolled_on, e.village, e.channel, e.agent_id or "", (1, 0, 0, 0, 0, 0))
        elif isinstance(e, Participant.ProgrammesChanged):
            member = members[pid]
            member.programmes.append([e.from_month.index, "+".join(e.programmes)])
            member.programmes.sort(key=lambda entry: entry[0])
        elif isinstance(e, Participant.ClaimFiled):
            act(i, e.filed_on, members[pid].current_village(), "", "", (0, 0, 0, 1, 0, 0))
        elif isinstance(e, Participant.ClaimPaid):
            act(i, e.paid_on, members[pid].current_village(), "", "", (0, 0, 0, 0, 1, e.amount))
        else:  # rarer changes that may touch every counted month: the difference
            member = members[pid]
            before = member.rows()
            CoverageLogProjection._change(member, e)
            after = member.rows()
            after.subtract(before)
            add(i, after)


def _write_deltas(
    tx: Tx,
    names: dict[str, str],
    monthly: list[tuple[tuple[int, int, int, str, int], list[int]]],
    activity: list[tuple[Any, ...]],
) -> None:
    """Insert the deltas' rows."""
    tx.insert_rows(
        names["coverage_log_monthly"],
        (
            "month",
            "recorded",
            "position",
            "village",
            "effective",
            "active",
            "jkk",
            "jkm",
            "jht",
        ),
        (
            "integer",
            "bigint",
            "bigint",
            "text",
            "integer",
            "bigint",
            "bigint",
            "bigint",
            "bigint",
        ),
        [(*key, *cell) for key, cell in monthly if any(cell)],
    )
    tx.insert_rows(
        names["coverage_log_activity"],
        (
            "month",
            "recorded",
            "position",
            "village",
            "channel",
            "agent_id",
            "effective",
            *ACTIVITY_COLUMNS,
        ),
        (
            "integer",
            "bigint",
            "bigint",
            "text",
            "text",
            "text",
            "integer",
            *["bigint"] * len(ACTIVITY_COLUMNS),
        ),
        activity,
    )


def _write_members(tx: Tx, names: dict[str, str], members: dict[str, Member]) -> None:
    """Upsert the members."""
    tx.insert_rows(
        names["coverage_log_members"],
        ("participant_id", "state"),
        ("text", "text"),
        [(pid, orjson.dumps(m.state()).decode()) for pid, m in members.items()],
        "ON CONFLICT (participant_id) DO UPDATE SET state = excluded.state",
    )
