"""`coverage`: covered participants per village, programme and month, plus activity.

- `coverage_monthly`: per (month, village): participants with the month paid (`active`)
  and per programme. A month counts once its contribution is paid (DOMAIN.md); months
  after a death or withdrawal do not count even if paid ahead. A participant's months
  count in their current village: a corrected village moves them.
- `coverage_activity`: per (month, village, channel, agent): enrollments, contributions
  (count and rupiah) and claims, in the month and village where they happened.
- `coverage_members`: what the projection must remember per participant to do that
  (village, programme timeline, paid spans, end of membership). No personal data.

Roll-ups to district, regency, province and nation are sums over village code prefixes,
done when queried (`projections.queries`), so every level adds up by construction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from domain.coverage import latest_from
from domain.participant import Participant
from domain.values import PROGRAMME_ORDER, Period
from projections.projection import Event, Projection, keys_of
from projections.store import Tx

PROGRAMMES = tuple(str(p) for p in PROGRAMME_ORDER)  # the columns jkk, jkm, jht

MONTHLY = """CREATE TABLE {table} (
    month INTEGER NOT NULL, village TEXT NOT NULL,
    active BIGINT NOT NULL, jkk BIGINT NOT NULL, jkm BIGINT NOT NULL, jht BIGINT NOT NULL,
    PRIMARY KEY (month, village)
) {without_rowid}"""

ACTIVITY = """CREATE TABLE {table} (
    month INTEGER NOT NULL, village TEXT NOT NULL, channel TEXT NOT NULL, agent_id TEXT NOT NULL,
    enrollments BIGINT NOT NULL, contributions BIGINT NOT NULL, contribution_amount BIGINT NOT NULL,
    claims_filed BIGINT NOT NULL, claims_paid BIGINT NOT NULL, benefits_paid BIGINT NOT NULL,
    PRIMARY KEY (month, village, channel, agent_id)
) {without_rowid}"""

MEMBERS = """CREATE TABLE {table} (
    participant_id TEXT NOT NULL PRIMARY KEY, village TEXT NOT NULL, channel TEXT NOT NULL,
    agent_id TEXT NOT NULL, programmes TEXT NOT NULL, spans TEXT NOT NULL, ended INTEGER
) {without_rowid}"""


class _Offsets(dict[str, tuple[int, ...]]):
    """ "JKK+JKM+JHT" -> (1, 2, 3): the cells a month of those programmes counts in."""

    def __missing__(self, codes: str) -> tuple[int, ...]:
        self[codes] = offsets = tuple(1 + PROGRAMMES.index(c) for c in codes.split("+"))
        return offsets


_OFFSETS = _Offsets()
_ACTIVITY_COLUMNS = (
    "enrollments",
    "contributions",
    "contribution_amount",
    "claims_filed",
    "claims_paid",
    "benefits_paid",
)


class Member:
    """A participant as the coverage projection remembers them."""

    __slots__ = ("agent_id", "channel", "ended", "programmes", "spans", "village")

    def __init__(
        self,
        village: str,
        channel: str,
        agent_id: str,
        programmes: list[list[Any]],
        spans: list[list[int]],
        ended: int | None,
    ) -> None:
        self.village = village
        self.channel = channel
        self.agent_id = agent_id
        self.programmes = programmes  # [[from_month, "JKK+JKM"], ...] ascending
        self.spans = spans  # [[first_month, months], ...]
        self.ended = ended  # last month of membership after a death or withdrawal

    def programmes_in(self, month: int) -> tuple[int, ...]:
        """Column offsets (1 JKK, 2 JKM, 3 JHT) of the programmes in force for `month`."""
        return _OFFSETS[latest_from(self.programmes, month)]

    def paid_months(self) -> list[int]:
        return [m for first, count in self.spans for m in range(first, first + count)]

    def counted(self, month: int) -> bool:
        return self.ended is None or month <= self.ended


class CoverageProjection(Projection):
    name = "coverage"
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
        "coverage_monthly": MONTHLY,
        "coverage_activity": ACTIVITY,
        "coverage_members": MEMBERS,
    }
    # Members are per participant; monthly and activity cells are sums, written in key
    # order so that concurrent shares of a split rebuild lock them in the same order.
    partitionable: ClassVar[bool] = True

    def key_columns(self, table: str) -> str:
        return {
            "coverage_monthly": "month, village",
            "coverage_activity": "month, village, channel, agent_id",
            "coverage_members": "participant_id",
        }[table]

    def process(self, tx: Tx, names: dict[str, str], events: Sequence[Event]) -> None:
        pids = keys_of(events)
        members = self._load(tx, names["coverage_members"], list(dict.fromkeys(pids)))
        state = _State(members)
        fold(state, pids, events)
        _write(tx, names, state, members)

    bulk: ClassVar[bool] = True

    def bulk_state(self) -> _State:
        return _State({})

    def bulk_fold(
        self, state: _State, keys: Sequence[str], events: Sequence[Event], positions: Sequence[int]
    ) -> None:
        fold(state, keys, events)

    def bulk_write(self, tx: Tx, names: dict[str, str], state: _State) -> None:
        _write(tx, names, state, dict(sorted(state.members.items())))

    def _load(self, tx: Tx, table: str, ids: list[str]) -> dict[str, Member]:
        rows = tx.query_in(
            f"SELECT participant_id, village, channel, agent_id, programmes, spans, "
            f"ended FROM {table}",
            "participant_id",
            ids,
        )
        return {
            pid: Member(
                village, channel, agent, orjson.loads(programmes), orjson.loads(spans), ended
            )
            for pid, village, channel, agent, programmes, spans, ended in rows
        }


class _State:
    """What a page (or a bulk build) changes: the members it touches, and the monthly
    and activity cells' increments."""

    __slots__ = ("activity", "members", "monthly")

    def __init__(self, members: dict[str, Member]) -> None:
        self.members = members
        self.monthly: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.activity: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0] * 6)


def fold(state: _State, pids: Sequence[str], events: Sequence[Event]) -> None:
    """Apply events (`pids[i]` the participant of `events[i]`) to the members and cells."""
    members, monthly, activity = state.members, state.monthly, state.activity
    month_of = Period.index_of

    def count(member: Member, month: int, sign: int, village: str | None = None) -> None:
        cell = monthly[(month, village or member.village)]
        cell[0] += sign
        for offset in member.programmes_in(month):
            cell[offset] += sign

    for pid, e in zip(pids, events, strict=True):
        if isinstance(e, Participant.ContributionPaid):  # most events: kept lean
            member = members[pid]
            first = e.first_month.index
            member.spans.append([first, e.months])
            ended = member.ended
            for month in range(first, first + e.months):
                if ended is None or month <= ended:
                    cell = monthly[(month, member.village)]
                    cell[0] += 1
                    for offset in member.programmes_in(month):
                        cell[offset] += 1
            cell = activity[(month_of(e.paid_on), member.village, e.channel, e.agent_id or "")]
            cell[1] += 1
            cell[2] += e.amount
        elif isinstance(e, Participant.Enrolled):
            members[pid] = Member(
                e.village,
                e.channel,
                e.agent_id or "",
                [[month_of(e.enrolled_on), "+".join(e.programmes)]],
                [],
                None,
            )
            activity[(month_of(e.enrolled_on), e.village, e.channel, e.agent_id or "")][0] += 1
        elif isinstance(e, Participant.ContributionsResettled):
            # A late, earlier-dated payment moved these payments' months: uncount the
            # old ones, count the new (spans never overlap: the first month names one).
            member = members[pid]
            moved: dict[int, list[int]] = {}
            for move in e.moves:
                was, now = move["was_first_month"].index, move["first_month"].index
                moved[was] = [now, move["months"]]
                for month in range(was, was + move["was_months"]):
                    if member.counted(month):
                        count(member, month, -1)
                for month in range(now, now + move["months"]):
                    if member.counted(month):
                        count(member, month, +1)
            member.spans = [moved.get(first, [first, months]) for first, months in member.spans]
        elif isinstance(e, Participant.ProgrammesChanged):
            member = members[pid]
            member.programmes.append([e.from_month.index, "+".join(e.programmes)])
            member.programmes.sort(key=lambda entry: entry[0])
        elif isinstance(e, Participant.DetailsCorrected):
            member = members[pid]
            if e.village is not None and e.village != member.village:
                for month in member.paid_months():
                    if member.counted(month):
                        count(member, month, -1)
                        count(member, month, +1, village=e.village)
                member.village = e.village
        elif isinstance(e, (Participant.Died, Participant.Withdrew)):
            member = members[pid]
            day = e.died_on if isinstance(e, Participant.Died) else e.withdrawn_on
            end = month_of(day)
            if member.ended is None or end < member.ended:
                for month in member.paid_months():
                    if month > end and member.counted(month):
                        count(member, month, -1)
                member.ended = end
        elif isinstance(e, Participant.ClaimFiled):
            activity[(month_of(e.filed_on), members[pid].village, "", "")][3] += 1
        elif isinstance(e, Participant.ClaimPaid):
            cell = activity[(month_of(e.paid_on), members[pid].village, "", "")]
            cell[4] += 1
            cell[5] += e.amount


def _write(tx: Tx, names: dict[str, str], state: _State, members: dict[str, Member]) -> None:
    """Add the cells' increments to the tables and upsert the members."""
    monthly, activity = state.monthly, state.activity
    tx.insert_rows(
        names["coverage_monthly"],
        ("month", "village", "active", "jkk", "jkm", "jht"),
        ("integer", "text", "bigint", "bigint", "bigint", "bigint"),
        [(m, v, *c) for (m, v), c in sorted(monthly.items()) if any(c)],
        "ON CONFLICT (month, village) DO UPDATE SET "
        + ", ".join(
            f"{c} = {names['coverage_monthly']}.{c} + excluded.{c}"
            for c in ("active", "jkk", "jkm", "jht")
        ),
    )
    # A cell that nets to zero is removed, so the table does not depend on where the
    # page boundaries fell (a rebuild with other pages must equal it row for row).
    tx.executemany(
        f"DELETE FROM {names['coverage_monthly']} WHERE month = ? AND village = ? "
        "AND active = 0 AND jkk = 0 AND jkm = 0 AND jht = 0",
        [(m, v) for (m, v), c in monthly.items() if min(c) < 0],
    )  # only decrements reach 0
    tx.insert_rows(
        names["coverage_activity"],
        ("month", "village", "channel", "agent_id", *_ACTIVITY_COLUMNS),
        ("integer", "text", "text", "text", *["bigint"] * len(_ACTIVITY_COLUMNS)),
        [(*key, *c) for key, c in sorted(activity.items())],
        "ON CONFLICT (month, village, channel, agent_id) DO UPDATE SET "
        + ", ".join(
            f"{c} = {names['coverage_activity']}.{c} + excluded.{c}" for c in _ACTIVITY_COLUMNS
        ),
    )
    tx.insert_rows(
        names["coverage_members"],
        ("participant_id", "village", "channel", "agent_id", "programmes", "spans", "ended"),
        ("text", "text", "text", "text", "text", "text", "integer"),
        [
            (
                pid,
                m.village,
                m.channel,
                m.agent_id,
                orjson.dumps(m.programmes).decode(),
                orjson.dumps(m.spans).decode(),
                m.ended,
            )
            for pid, m in members.items()
        ],
        "ON CONFLICT (participant_id) DO UPDATE SET village = excluded.village, "
        "programmes = excluded.programmes, spans = excluded.spans, ended = excluded.ended",
    )
