"""An independent recount of coverage from the raw events, to hold the live read model to.

This shares no code with `projections/` beyond decoding: a plain fold of the decoded
events, written from the rules as DOMAIN.md states them, then a tally. A month counts in
`(month, village)` once its contribution is paid, in the participant's current village,
for each programme in force in that month, and not after a death or withdrawal (even if
paid ahead). Reading the live table to compare with is the only use of the projections'
layout, and it goes through their own `live_tables`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper

from domain.participant import Participant
from domain.values import Period
from projections.coverage import CoverageProjection
from projections.generations import live_tables
from projections.store import ViewStore

Cell = tuple[int, str]  # (month index, village code)
Counts = dict[Cell, tuple[int, int, int, int]]  # active, JKK, JKM, JHT
PROGRAMME_ORDER = ("JKK", "JKM", "JHT")
TOPICS = tuple(
    f"domain.participant:Participant.{name}"
    for name in (
        "Enrolled",
        "ContributionPaid",
        "ProgrammesChanged",
        "DetailsCorrected",
        "Died",
        "Withdrew",
    )
)


@dataclass
class Person:
    village: str
    timeline: list[tuple[int, tuple[str, ...]]]  # (from month, programmes), in event order
    paid: list[int] = field(default_factory=list)
    ended: int | None = None

    def programmes(self, month: int) -> tuple[str, ...]:
        in_force = sorted(self.timeline, key=lambda entry: entry[0])  # stable: later wins ties
        current = in_force[0][1]
        for start, programmes in in_force:
            if start <= month:
                current = programmes
        return current


def fold(events: Any) -> dict[Any, Person]:
    """Each participant's village, programme timeline, paid months and end of membership."""
    people: dict[Any, Person] = {}
    month_of = Period.index_of
    for e in events:
        if isinstance(e, Participant.Enrolled):
            people[e.originator_id] = Person(e.village, [(month_of(e.enrolled_on), e.programmes)])
            continue
        person = people[e.originator_id]
        if isinstance(e, Participant.ContributionPaid):
            person.paid += range(e.first_month.index, e.first_month.index + e.months)
        elif isinstance(e, Participant.ProgrammesChanged):
            person.timeline.append((e.from_month.index, e.programmes))
        elif isinstance(e, Participant.DetailsCorrected):
            person.village = e.village or person.village
        elif isinstance(e, Participant.Died | Participant.Withdrew):
            end = month_of(e.died_on if isinstance(e, Participant.Died) else e.withdrawn_on)
            person.ended = end if person.ended is None else min(person.ended, end)
    return people


def tally(people: dict[Any, Person], month: int | None = None) -> Counts:
    counts: Counter[tuple[int, str, str]] = Counter()
    for person in people.values():
        for paid in person.paid:
            if (month is not None and paid != month) or (
                person.ended is not None and paid > person.ended
            ):
                continue
            counts[(paid, person.village, "active")] += 1
            for programme in person.programmes(paid):
                counts[(paid, person.village, programme)] += 1
    cells: Counts = {}
    for m, village, _ in counts:
        cells[(m, village)] = (
            counts[(m, village, "active")],
            counts[(m, village, "JKK")],
            counts[(m, village, "JKM")],
            counts[(m, village, "JHT")],
        )
    return cells


def recount(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    *,
    until: int,
    period: Period | None = None,
    page_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> Counts:
    """Coverage cells from the events up to log position `until`."""

    def events() -> Any:
        position = 0
        while position < until:
            page = recorder.select_notifications(
                start=position + 1, limit=page_size, stop=until, topics=TOPICS
            )
            if not page:
                return
            for notification in page:
                yield mapper.to_domain_event(notification)
            position = int(page[-1].id)
            if progress:
                progress(position, until)

    return tally(fold(events()), period.index if period else None)


def live_coverage(store: ViewStore, period: Period | None = None) -> tuple[int, Counts]:
    """The live read model's cells (and the log position it reflects)."""
    with store.transaction() as tx:
        names, position = live_tables(tx, CoverageProjection())
        where, params = ("WHERE month = ?", (period.index,)) if period else ("", ())
        rows = tx.query(
            f"SELECT month, village, active, jkk, jkm, jht "
            f"FROM {names['coverage_monthly']} {where}",
            params,
        )
    return position, {
        (int(m), str(v)): (int(a), int(k), int(j), int(h)) for m, v, a, k, j, h in rows
    }


def differences(live: Counts, recounted: Counts) -> list[dict[str, Any]]:
    """Every cell and column where the two differ (a missing cell counts as zeros)."""
    found = []
    for cell in sorted(set(live) | set(recounted)):
        a, b = live.get(cell, (0, 0, 0, 0)), recounted.get(cell, (0, 0, 0, 0))
        for column, x, y in zip(
            ("active", *(p.lower() for p in PROGRAMME_ORDER)), a, b, strict=True
        ):
            if x != y:
                found.append(
                    {
                        "month": str(Period(cell[0])),
                        "village": cell[1],
                        "column": column,
                        "live": x,
                        "recount": y,
                    }
                )
    return found
