"""Parsing the points in time and places every way in names the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from domain.errors import InvalidInputError
from domain.values import Period


def parse_moment(text: str) -> datetime:
    """An ISO timestamp (UTC unless it says otherwise), or a date meaning its end (UTC)."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            "invalid_timestamp", f"'{text}' is not a date or an ISO timestamp."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def month_or_this(period: str | None) -> Period:
    """`YYYY-MM`, or this month."""
    return Period.parse(period) if period else Period.containing(date.today())
