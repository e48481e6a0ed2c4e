"""Coverage and activity on either clock, or both, from `coverage_log`'s deltas.

`recorded_at` (the recording clock) counts the events recorded at or before it, `as_of`
(the business clock) the facts in effect by that day. Each answer says both, with the log
position it reflects (for `recorded_at`, the last position recorded by then).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper

from domain.regions import region_name
from domain.values import Period
from projections.coverage import PROGRAMMES
from projections.coverage_log import ACTIVITY_COLUMNS, CoverageLogProjection
from projections.coverage_log_member import recorded_micros
from projections.generations import live_tables
from projections.queries import PREFIX, QueryError, _region_bounds
from projections.store import ViewStore

QuickStamp = Callable[[bytes], "datetime | None"]  # stored state -> recorded time, if it can
_NO_DAY = 10**7  # after every proleptic ordinal this ledger will see
_NO_TIME = 2**62  # after every recorded time
# Events are created before their transaction is written, and a batch saves one aggregate's
# events after another's: recorded times rise from one transaction to the next, not
# always within one. So a binary search finds the right transaction, and a look at the
# positions after it (more than a batch's worth) finds the last one recorded by then.
_WITHIN_TRANSACTION = 2_000


def position_at(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    at: datetime,
    head: int | None = None,
    quick_stamp: QuickStamp | None = None,
) -> int:
    """The last log position recorded at or before `at` (0 if none). Reads about
    log2(head) single events, then one page. `quick_stamp` may read an event's recorded
    time from its stored state without decoding it (None: decode)."""
    high = (recorder.max_notification_id() or 0) if head is None else head
    low = 0  # recorded(low) <= at (0: before the log)

    def stamp(notification: Any) -> datetime:
        quick = quick_stamp(notification.state) if quick_stamp is not None else None
        return quick if quick is not None else _stamp(mapper, notification)

    def recorded(position: int) -> datetime | None:
        found = recorder.select_notifications(start=position, limit=1)
        return stamp(found[0]) if found else None

    while low < high:
        middle = (low + high + 1) // 2
        moment = recorded(middle)
        if moment is not None and moment <= at:
            low = middle
        else:
            high = middle - 1
    after = recorder.select_notifications(start=low + 1, limit=_WITHIN_TRANSACTION)
    return max([low, *(n.id for n in after if stamp(n) <= at)])


def _stamp(mapper: Mapper[Any], notification: Any) -> datetime:
    moment: datetime = getattr(mapper.to_domain_event(notification), "timestamp")  # noqa: B009
    return moment


def coverage_at(
    store: ViewStore,
    *,
    period: Period,
    level: str = "nation",
    region: str | None = None,
    programme: str | None = None,
    as_of: date | None = None,
    recorded_at: datetime | None = None,
    position: int | None = None,
    national_target: int | None = None,
) -> dict[str, Any]:
    """`projections.queries.coverage`'s answer, on the clocks asked for; `position` is
    what `recorded_at` names in the log (`position_at`), for the answer to state."""
    if level not in PREFIX:
        raise QueryError("invalid_level", f"Level is one of {', '.join(PREFIX)}.")
    if programme is not None and programme not in PROGRAMMES:
        raise QueryError("unknown_programme", f"Programme is one of {', '.join(PROGRAMMES)}.")
    width = PREFIX[level]
    low, high = _region_bounds(region)
    day = as_of.toordinal() if as_of else _NO_DAY
    until = recorded_micros(recorded_at) if recorded_at else _NO_TIME
    with store.transaction() as tx:
        names, live = live_tables(tx, CoverageLogProjection())
        where = "month = ? AND recorded <= ? AND effective <= ?"
        group = f"substr(village, 1, {width})"
        covered = tx.query(
            f"SELECT {group}, sum(active), sum(jkk), sum(jkm), sum(jht) "
            f"FROM {names['coverage_log_monthly']} WHERE {where} AND village >= ? AND village < ? "
            f"GROUP BY {group} ORDER BY 1",
            (period.index, until, day, low, high),
        )
        activity = tx.query(
            f"SELECT {group}, "
            + ", ".join(f"sum({c})" for c in ACTIVITY_COLUMNS)
            + f" FROM {names['coverage_log_activity']} WHERE {where} AND village >= ? "
            f"AND village < ? GROUP BY {group} ORDER BY 1",
            (period.index, until, day, low, high),
        )
        nation = tx.query(
            f"SELECT coalesce(sum(active), 0) FROM {names['coverage_log_monthly']} WHERE {where}",
            (period.index, until, day),
        )[0][0]
    rows: dict[str, dict[str, Any]] = {}
    for code, active, jkk, jkm, jht in covered:
        if int(active) or int(jkk) or int(jkm) or int(jht):
            rows[code] = _row(code)
            rows[code]["active"] = int(active)
            rows[code]["by_programme"] = {"JKK": int(jkk), "JKM": int(jkm), "JHT": int(jht)}
    for code, *values in activity:
        row = rows.setdefault(code, _row(code))
        row.update({c: int(v) for c, v in zip(ACTIVITY_COLUMNS, values, strict=True)})
    ordered = [rows[code] for code in sorted(rows)]
    if programme is not None:
        for row in ordered:
            row["covered"] = row["by_programme"][programme]
    total = {
        "active": sum(r["active"] for r in ordered),
        "by_programme": {p: sum(r["by_programme"][p] for r in ordered) for p in PROGRAMMES},
        **{c: sum(r[c] for r in ordered) for c in ACTIVITY_COLUMNS},
    }
    answer: dict[str, Any] = {
        "position": live if position is None else min(position, live),
        "period": str(period),
        "level": level,
        "region": region or None,
        "programme": programme,
        "rows": ordered,
        "total": total,
        "as_of": as_of.isoformat() if as_of else None,
        "recorded_at": recorded_at.isoformat() if recorded_at else None,
    }
    if national_target:
        answer["national_target"] = {
            "target": national_target,
            "active": int(nation),
            "progress": round(int(nation) / national_target, 6),
        }
    return answer


def _row(code: str) -> dict[str, Any]:
    return {
        "region": code,
        "name": region_name(code),
        "active": 0,
        "by_programme": dict.fromkeys(PROGRAMMES, 0),
        **dict.fromkeys(ACTIVITY_COLUMNS, 0),
    }
