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

    def register(self, transcoding: Transcoding) -> None:
        self.types[transcoding.type] = transcoding
        self.names[transcoding.name] = transcoding
        self._decoders[transcoding.name] = transcoding.decode

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(self._tag(obj))

    def decode(self, data: bytes) -> Any:
        value = orjson.loads(data)
        if b'"_type_"' not in data:  # nothing tagged: nothing to restore
            return value
        return self._untag(value)

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
