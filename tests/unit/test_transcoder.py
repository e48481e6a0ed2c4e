"""The ledger transcoder's quick decode of an event's fields equals the generic walk's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.coverage import PaidSpan
from domain.values import Period
from infra import transcoder as module
from infra.transcoder import ledger_transcoder


def _not_a_tag(value: dict[str, Any]) -> bool:
    """A plain dict of exactly the keys of a tag reads back as one, in the library's format
    too: no event holds one."""
    return value.keys() != {"_type_", "_data_"}


_TEXT = st.text(max_size=12) | st.sampled_from(["_type_", "_data_", '"_type_"', "period"])
_PERIODS = st.integers(min_value=2000 * 12, max_value=2100 * 12).map(Period)
_DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**62), max_value=2**62)
    | _TEXT
    | _DATES
    | _PERIODS
    | st.datetimes(timezones=st.just(UTC))
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.builds(
        PaidSpan,
        _DATES,
        _PERIODS,
        st.integers(1, 12),
        st.tuples(st.sampled_from(["JKK", "JKM", "JHT"])),
        st.integers(0, 10**9),
        st.integers(0, 10**9),
        st.text(max_size=8),
    )
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_TEXT, inner, max_size=4).filter(_not_a_tag)
    ),
    max_leaves=12,
)
# an event's fields: a flat dict of names to values, as the mapper stores an event
_EVENTS = st.dictionaries(_TEXT, _VALUES, max_size=10).filter(_not_a_tag)


def _walked(data: bytes) -> Any:
    """What the generic tag-restoring walk over the whole document gives."""
    return ledger_transcoder()._untag(orjson.loads(data))


@settings(max_examples=150, deadline=None)
@given(_EVENTS | _VALUES)
def test_quick_decode_equals_the_walk_and_the_original(value: Any) -> None:
    transcoder = ledger_transcoder()
    data = transcoder.encode(value)
    decoded = transcoder.decode(data)
    assert decoded == _walked(data)
    assert decoded == value
    assert transcoder.decode(data) == value  # again: from the memos this time


def test_memoised_days_and_months_are_the_same_values() -> None:
    transcoder = ledger_transcoder()
    first = transcoder.decode(transcoder.encode({"a": date(2025, 3, 1), "b": Period.of(2025, 3)}))
    again = transcoder.decode(transcoder.encode({"c": date(2025, 3, 1), "d": Period.of(2025, 3)}))
    assert first["a"] is again["c"] and first["b"] is again["d"]
    assert type(again["d"]) is Period and again["d"] == Period.of(2025, 3)


def test_the_memos_stay_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(module, "_MEMO_SIZE", 3)
    transcoder = ledger_transcoder()
    days = [date(2025, 1, d) for d in range(1, 11)]
    for day in days:
        assert transcoder.decode(transcoder.encode({"on": day}))["on"] == day
    assert 0 < len(transcoder._memos["date_iso"]) <= 3


def test_tags_in_text_or_plain_keys_do_not_stop_the_walk_early() -> None:
    transcoder = ledger_transcoder()
    value = {
        "note": 'say "_type_" twice: "_type_"',
        "_type_": "a plain key",
        "when": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "id": UUID(int=7),
        "amount": Decimal("1.50"),
        "later": (date(2025, 2, 3), [Period.of(2025, 4)]),
    }
    assert transcoder.decode(transcoder.encode(value)) == value
