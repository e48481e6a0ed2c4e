"""An orjson transcoder that keeps the library's typed round trip.

Bare `orjson.dumps/loads` would bring UUIDs, dates and tuples back as `str` and `list`
(orjson serialises them natively and never asks). So, like the library's JSONTranscoder,
values of registered types are written as `{"_type_": name, "_data_": ...}` and restored
on the way back; orjson does the byte work. The format is the JSONTranscoder's, so either
can read what the other wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from domain.coverage import PaidSpan
from domain.values import Period

_PLAIN = frozenset({str, int, float, bool, type(None)})


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PeriodAsText(Transcoding):
    type = Period
    name = "period"

    def encode(self, obj: Period) -> str:
        return str(obj)

    def decode(self, data: str) -> Period:
        return Period(int(data[:4]) * 12 + int(data[5:7]) - 1)


class PaidSpanAsList(Transcoding):
    type = PaidSpan
    name = "paid_span"

    def encode(self, obj: PaidSpan) -> list[Any]:
        return [
            obj.paid_on.isoformat(),
            str(obj.first),
            obj.months,
            list(obj.programmes),
            obj.amount,
            obj.jht_amount,
            obj.payment_ref,
        ]

    def decode(self, data: list[Any]) -> PaidSpan:
        # Snapshots taken before spans kept their payment reference have six items.
        paid_on, first, months, programmes, amount, jht_amount, *ref = data
        return PaidSpan(
            date.fromisoformat(paid_on),
            PeriodAsText().decode(first),
            months,
            tuple(programmes),
            amount,
            jht_amount,
            ref[0] if ref else "",
        )


class OrjsonTranscoder(Transcoder):
    """`Transcoder` with the JSONTranscoder's `register()` API and wire format."""

    def __init__(self) -> None:
        self.types: dict[type, Transcoding] = {}
        self.names: dict[str, Transcoding] = {}
        self._decoders: dict[str, Callable[[Any], Any]] = {"tuple_as_list": tuple}
        # decoded days and months by their text (see `decode`)
        self._memos: dict[str, dict[Any, Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        self.types[transcoding.type] = transcoding
        self.names[transcoding.name] = transcoding
        # the library's and our ISO transcodings are the C parsers themselves: called direct
        self._decoders[transcoding.name] = _DIRECT.get(type(transcoding), transcoding.decode)
        if transcoding.name in _MEMOISED and type(transcoding) is _MEMOISED[transcoding.name]:
            self._memos[transcoding.name] = {}
        else:
            self._memos.pop(transcoding.name, None)

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(self._tag(obj))

    def decode(self, data: bytes) -> Any:
        value = orjson.loads(data)
        tags = data.count(b'"_type_"')
        if not tags:  # nothing tagged: nothing to restore
            return value
        if type(value) is not dict or _tagged(value):
            return self._untag(value)
        # An event's fields (the hot case, every rebuild): restored here, a call fewer per
        # field; a day's or a month's text decoded once (the values are immutable, and a
        # log repeats a few thousand of them millions of times); and the walk stops once
        # it restored as many tags as the bytes hold (each tag's key is in them verbatim).
        decoders, memos = self._decoders, self._memos
        for key, item in value.items():
            kind = type(item)
            if kind is dict:
                if len(item) == 2 and "_type_" in item and "_data_" in item:
                    name = item["_type_"]
                    inner = item["_data_"]
                    memo = memos.get(name)
                    if memo is not None and type(inner) is str:
                        found = memo.get(inner)
                        if found is None:
                            if len(memo) >= _MEMO_SIZE:
                                memo.clear()
                            found = memo[inner] = decoders[name](inner)
                        value[key] = found
                    else:
                        decoder = decoders.get(name)
                        kind = type(inner)
                        if kind is list and decoder is tuple and _flat(inner):
                            value[key] = tuple(inner)  # a tuple of plain values
                        elif decoder is None or kind is dict or kind is list:
                            value[key] = self._untag(item)  # nested tags: not counted
                            continue
                        else:
                            value[key] = decoder(inner)
                    tags -= 1
                    if not tags:
                        break
                else:
                    value[key] = self._untag(item)
            elif kind is list:
                value[key] = self._untag(item)
        return value

    def _tag(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return obj
        tag = self._tag
        if kind is dict:
            return {
                key: value if type(value) in _PLAIN else tag(value) for key, value in obj.items()
            }
        if kind is list:
            return [value if type(value) in _PLAIN else tag(value) for value in obj]
        if kind is tuple:
            return {
                "_type_": "tuple_as_list",
                "_data_": [value if type(value) in _PLAIN else tag(value) for value in obj],
            }
        transcoding = self.types.get(kind)
        if transcoding is None:
            msg = (
                f"Object of type {kind} is not serializable. Please define and register "
                "a custom transcoding for this type."
            )
            raise TranscodingNotRegisteredError(msg)
        return {"_type_": transcoding.name, "_data_": self._tag(transcoding.encode(obj))}

    def _untag(self, value: Any) -> Any:
        # Hot on every read: containers only, type checks by identity, dicts fixed in place.
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                name = value["_type_"]
                decoder = self._decoders.get(name)
                if decoder is None:
                    msg = (
                        f"Data serialized with name '{name}' is not deserializable. "
                        "Please register a custom transcoding for this type."
                    )
                    raise TranscodingNotRegisteredError(msg)
                data = value["_data_"]
                kind = type(data)
                return decoder(self._untag(data) if kind is dict or kind is list else data)
            for key, item in value.items():
                kind = type(item)
                if kind is dict or kind is list:
                    value[key] = self._untag(item)
            return value
        if type(value) is list:
            untag = self._untag
            return [
                untag(item) if type(item) is dict or type(item) is list else item for item in value
            ]
        return value


def _flat(items: list[Any]) -> bool:
    return all(type(item) in _PLAIN for item in items)


def _tagged(value: dict[str, Any]) -> bool:
    return len(value) == 2 and "_type_" in value and "_data_" in value


# Transcodings whose values are immutable and decoded from a string alone: safe to share.
_MEMOISED: dict[str, type[Transcoding]] = {"date_iso": DateAsISO, "period": PeriodAsText}
_MEMO_SIZE = 100_000
_DIRECT: dict[type[Transcoding], Callable[[str], Any]] = {
    DatetimeAsISO: datetime.fromisoformat,
    DateAsISO: date.fromisoformat,
}  # distinct texts kept per transcoding (a log holds a few thousand)


def ledger_transcoder() -> OrjsonTranscoder:
    """The transcoder for the ledger's events: the library's types plus ours."""
    transcoder = OrjsonTranscoder()
    for transcoding in (
        UUIDAsHex(),
        DecimalAsStr(),
        DatetimeAsISO(),
        DateAsISO(),
        PeriodAsText(),
        PaidSpanAsList(),
    ):
        transcoder.register(transcoding)
    return transcoder


_STAMP = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'


def recorded_time(state: bytes) -> datetime | None:
    """An event's recorded time read straight from its stored state, where this
    transcoder writes it first; None for a state in another form (decode it then).
    About ten times quicker than decoding the event, for searches by recorded time."""
    if not state.startswith(_STAMP):
        return None
    end = state.find(b'"', len(_STAMP))
    return datetime.fromisoformat(state[len(_STAMP) : end].decode()) if end > 0 else None
