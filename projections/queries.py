"""Answers from the read models. Every answer says the log position it reflects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from domain.errors import InvalidInputError
from domain.regions import LEVELS, parse_region, region_name
from domain.rules import RuleBook
from domain.values import Period
from projections.coverage import PROGRAMMES, CoverageProjection
from projections.generations import live_tables
from projections.participant_status import COLUMNS, ParticipantStatusProjection, status_of
from projections.projection import Projection
from projections.store import Tx, ViewStore

PREFIX = {"nation": 0, "province": 2, "regency": 5, "district": 8, "village": 13}
_ACTIVITY = (
    "enrollments",
    "contributions",
    "contribution_amount",
    "claims_filed",
    "claims_paid",
    "benefits_paid",
)


class QueryError(InvalidInputError):
    """A query the read models cannot answer as asked (unknown level, malformed region)."""


def _region_bounds(region: str | None) -> tuple[str, str]:
    if not region:
        return "", "~"
    return region, region + "~"  # '~' sorts after digits and '.'


def coverage(
    store: ViewStore,
    *,
    period: Period,
    level: str = "nation",
    region: str | None = None,
    programme: str | None = None,
    national_target: int | None = None,
) -> dict[str, Any]:
    """Covered participants and activity for a month, at a level, optionally within a region."""
    if level not in PREFIX:
        raise QueryError("invalid_level", f"Level is one of {', '.join(LEVELS)}.")
    region = parse_region(region) if region else None
    if programme is not None and programme not in PROGRAMMES:
        raise QueryError("unknown_programme", f"Programme is one of {', '.join(PROGRAMMES)}.")
    if region and len(region) > PREFIX[level] and level != "nation":
        raise QueryError("region_below_level", f"Region {region} is finer than the {level} level.")
    width = PREFIX[level]
    low, high = _region_bounds(region)
    with store.transaction() as tx:
        names, position = live_tables(tx, CoverageProjection())
        covered = tx.query(
            f"SELECT substr(village, 1, {width}) AS region, "
            "sum(active), sum(jkk), sum(jkm), sum(jht) "
            f"FROM {names['coverage_monthly']} WHERE month = ? AND village >= ? AND village < ? "
            "GROUP BY substr(village, 1, " + str(width) + ") ORDER BY 1",
            (period.index, low, high),
        )
        activity = tx.query(
            f"SELECT substr(village, 1, {width}) AS region, "
            + ", ".join(f"sum({c})" for c in _ACTIVITY)
            + f" FROM {names['coverage_activity']} "
            "WHERE month = ? AND village >= ? AND village < ? "
            "GROUP BY substr(village, 1, " + str(width) + ") ORDER BY 1",
            (period.index, low, high),
        )
        nation = tx.query(
            f"SELECT coalesce(sum(active), 0) FROM {names['coverage_monthly']} WHERE month = ?",
            (period.index,),
        )[0][0]
    rows: dict[str, dict[str, Any]] = {}

    def row_for(code: str) -> dict[str, Any]:
        if code not in rows:
            rows[code] = {
                "region": code,
                "name": region_name(code),
                "active": 0,
                "by_programme": dict.fromkeys(PROGRAMMES, 0),
                **dict.fromkeys(_ACTIVITY, 0),
            }
        return rows[code]

    for code, active, jkk, jkm, jht in covered:
        row = row_for(code)
        row["active"] = int(active)
        row["by_programme"] = dict(zip(PROGRAMMES, (int(jkk), int(jkm), int(jht)), strict=True))
    for code, *values in activity:
        row = row_for(code)
        row.update({c: int(v) for c, v in zip(_ACTIVITY, values, strict=True)})
    ordered = [rows[code] for code in sorted(rows)]
    if programme is not None:
        for row in ordered:
            row["covered"] = row["by_programme"][programme]
    total = {
        "active": sum(r["active"] for r in ordered),
        "by_programme": {p: sum(r["by_programme"][p] for r in ordered) for p in PROGRAMMES},
        **{c: sum(r[c] for r in ordered) for c in _ACTIVITY},
    }
    answer: dict[str, Any] = {
        "position": position,
        "period": str(period),
        "level": level,
        "region": region or None,
        "programme": programme,
        "rows": ordered,
        "total": total,
    }
    if national_target:
        answer["national_target"] = {
            "target": national_target,
            "active": int(nation),
            "progress": round(int(nation) / national_target, 6),
        }
    return answer


def activity_by(
    store: ViewStore, *, period: Period, by: str, region: str | None = None
) -> dict[str, Any]:
    """Enrollments, contributions and claims in a month per channel or per field agent."""
    column = {"channel": "channel", "agent": "agent_id"}.get(by)
    if column is None:
        raise QueryError("invalid_breakdown", "Break down by channel or agent.")
    region = parse_region(region) if region else None
    low, high = _region_bounds(region)
    with store.transaction() as tx:
        names, position = live_tables(tx, CoverageProjection())
        found = tx.query(
            f"SELECT {column}, "
            + ", ".join(f"sum({c})" for c in _ACTIVITY)
            + f" FROM {names['coverage_activity']} "
            "WHERE month = ? AND village >= ? AND village < ? "
            f"AND {column} <> '' GROUP BY {column} ORDER BY {column}",
            (period.index, low, high),
        )
    return {
        "position": position,
        "period": str(period),
        "by": by,
        "region": region or None,
        "rows": [
            {by: key, **{c: int(v) for c, v in zip(_ACTIVITY, values, strict=True)}}
            for key, *values in found
        ],
    }


def participant_row(
    store: ViewStore, participant_id: str, day: date, rules: RuleBook
) -> dict[str, Any] | None:
    """A participant's `participant_status` row, with the status on `day` by `rules` (the
    ledger's rule book, so that the read model and the ledger answer alike)."""
    with store.transaction() as tx:
        names, position = live_tables(tx, ParticipantStatusProjection())
        found = tx.query(
            f"SELECT {', '.join(COLUMNS)} FROM {names['participant_status']} "
            "WHERE participant_id = ?",
            (participant_id,),
        )
    if not found:
        return None
    row = dict(zip(COLUMNS, found[0], strict=True))
    row["status"], row["arrears_months"] = status_of(row, day, rules)
    row["paid_through"] = (
        str(Period(int(row["paid_through"]))) if row["paid_through"] is not None else None
    )
    row["position"] = position
    return row


def busiest_participants(store: ViewStore, limit: int = 1) -> list[str]:
    """Participants with the most contributions recorded: good examples for a demo."""
    with store.transaction() as tx:
        names, _ = live_tables(tx, ParticipantStatusProjection())
        found = tx.query(
            f"SELECT participant_id FROM {names['participant_status']} "
            "WHERE died_on IS NULL AND withdrawn_on IS NULL "
            "ORDER BY contributions DESC, participant_id LIMIT ?",
            (limit,),
        )
    return [str(row[0]) for row in found]


def table_rows(tx: Tx, projection: Projection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a projection's live generation, in key order."""
    names, _ = live_tables(tx, projection)
    return {
        table: tx.query(f"SELECT * FROM {physical} ORDER BY {projection.key_columns(table)}")
        for table, physical in names.items()
    }


def compare(left: ViewStore, right: ViewStore, projections: Sequence[Projection]) -> list[str]:
    """Differences between two stores' projections, row for row; empty when equal."""
    differences: list[str] = []
    for projection in projections:
        with left.transaction() as tx:
            ours = table_rows(tx, projection)
        with right.transaction() as tx:
            theirs = table_rows(tx, projection)
        for table in projection.tables:
            a = [_normal(r) for r in ours[table]]
            b = [_normal(r) for r in theirs[table]]
            if a != b:
                only_a, only_b = set(a) - set(b), set(b) - set(a)
                example = sorted(only_a or only_b, key=repr)[:1]
                differences.append(
                    f"{table}: {len(a)} vs {len(b)} rows, {len(only_a)} only in the first, "
                    f"{len(only_b)} only in the second; e.g. {example}"
                )
    return differences


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(int(v) if isinstance(v, bool) else v for v in row)
