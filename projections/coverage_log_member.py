"""What `coverage_log` remembers of a participant (`Member`), and the deltas one paid
month makes to the counts on the business clock (`Member.month_rows`); see
`projections.coverage_log`. Recorded times are kept as microseconds since 1970 UTC
(`recorded_micros`), days as proleptic ordinals."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from domain.values import Period
from projections.coverage import PROGRAMMES

Key = tuple[int, str, int, tuple[int, ...]]  # month, village, effective day, programme offsets


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OFFSETS: dict[str, tuple[int, ...]] = {}  # "JKK+JKM" -> (1, 2), computed once each


def recorded_micros(moment: datetime) -> int:
    """A recorded time as whole microseconds since 1970 (UTC), exact and sortable."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Member:
    """A participant as this projection remembers them (no personal data)."""

    __slots__ = ("corrections", "ends", "programmes", "spans", "village")

    def __init__(self, state: dict[str, Any]) -> None:
        self.village: str = state["village"]  # as enrolled
        self.corrections: list[list[Any]] = state["corrections"]  # [[day, village]], recorded order
        self.programmes: list[list[Any]] = state["programmes"]  # [[from_month, "JKK+JKM"]]
        self.spans: list[list[int]] = state["spans"]  # [[first_month, months, paid_on_day]]
        self.ends: list[int] = state["ends"]  # days of death or withdrawal

    def state(self) -> dict[str, Any]:
        return {
            "village": self.village,
            "corrections": self.corrections,
            "programmes": self.programmes,
            "spans": self.spans,
            "ends": self.ends,
        }

    def village_at(self, day: int) -> str:
        """Of the corrections dated by `day`, the one recorded last; else as enrolled."""
        village = self.village
        for corrected_on, corrected in self.corrections:
            if corrected_on <= day:
                village = corrected
        return village

    def current_village(self) -> str:
        return self.corrections[-1][1] if self.corrections else self.village

    def offsets(self, month: int) -> tuple[int, ...]:
        """Column offsets (1 JKK, 2 JKM, 3 JHT) of the programmes in force for `month`."""
        codes = self.programmes[0][1]
        for start, candidate in self.programmes:
            if start <= month:
                codes = candidate
        offsets = _OFFSETS.get(codes)
        if offsets is None:
            offsets = _OFFSETS[codes] = tuple(1 + PROGRAMMES.index(c) for c in codes.split("+"))
        return offsets

    def month_rows(self, month: int, paid_on: int, out: Counter[Key]) -> None:
        """The steps of one paid month's count over business time, added to `out`."""
        offsets = self.offsets(month)
        ends = [day for day in self.ends if Period.index_of(date.fromordinal(day)) < month]
        stop = max(min(ends), paid_on) if ends else None
        village = self.village_at(paid_on)
        out[(month, village, paid_on, offsets)] += 1
        for day in sorted(
            {c for c, _ in self.corrections if paid_on < c and (stop is None or c < stop)}
        ):
            moved = self.village_at(day)
            if moved != village:
                out[(month, village, day, offsets)] -= 1
                out[(month, moved, day, offsets)] += 1
                village = moved
        if stop is not None:
            out[(month, village, stop, offsets)] -= 1

    def rows(self) -> Counter[Key]:
        out: Counter[Key] = Counter()
        for first, months, paid_on in self.spans:
            for month in range(first, first + months):
                self.month_rows(month, paid_on, out)
        return out
