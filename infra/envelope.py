"""The Kafka message of a ledger event: CloudEvents 1.0, Kafka protocol binding, binary mode.

Written by hand rather than with the `cloudevents` SDK: the relay builds one per event on
its hot path, and the binding is a handful of headers (`ce_*`, `content-type`), the event's
data as the value and the partition key as the key. See docs/events.md.

- key: the participant id (text), so one participant's events share a partition, in order.
- value: the event's data exactly as the ledger stores it (orjson; typed values tagged
  `{"_type_", "_data_"}`; personal fields sealed in `_pii_`, AES-GCM under the
  participant's own key, which never leaves the ledger).
- headers: `ce_specversion`, `ce_id` (`<participant id>:<version>`, the same for every
  re-publication, so consumers can drop duplicates), `ce_source`, `ce_type`,
  `ce_subject` (participant id), `ce_time` (when the ledger recorded it), and the
  extensions `ce_logposition` (the event's position in the ledger's log) and
  `ce_schemaversion` (the event class's version, 1 unless a class was upcast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.participant import PARTICIPANT_EVENTS

CONTENT_TYPE = b"application/json"
TYPE_PREFIX = "id.ledger.participant."

# Every event a participant can have; its CloudEvents type is a stable public name, its
# topic (the module path the ledger stores) stays private to the ledger.
EVENT_CLASSES: tuple[type, ...] = PARTICIPANT_EVENTS
TYPE_OF_TOPIC: dict[str, str] = {get_topic(c): TYPE_PREFIX + c.__name__ for c in EVENT_CLASSES}
TOPIC_OF_TYPE: dict[str, str] = {t: topic for topic, t in TYPE_OF_TOPIC.items()}
EVENT_TOPICS: tuple[str, ...] = tuple(TYPE_OF_TOPIC)


class EnvelopeError(ValueError):
    """A message that is not a ledger event: the reason goes to the dead-letter headers."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


Headers = list[tuple[str, bytes]]


_SPEC = ("ce_specversion", b"1.0")
_CONTENT = ("content-type", CONTENT_TYPE)
_TYPES = {topic: ("ce_type", name.encode()) for topic, name in TYPE_OF_TOPIC.items()}
_TIME_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'


def encode(
    position: int, originator_id: UUID | str, version: int, topic: str, state: bytes, source: bytes
) -> tuple[bytes, Headers]:
    """(key, headers) of the message carrying a stored event; its value is `state`."""
    subject = str(originator_id).encode()
    if state.startswith(_TIME_PREFIX) and b'"class_version"' not in state:
        # The ledger's transcoder writes the timestamp first: read it without parsing.
        time = state[len(_TIME_PREFIX) : state.index(b'"', len(_TIME_PREFIX))]
        schema = b"1"
    else:
        data = orjson.loads(state)
        stamp = data.get("timestamp")
        time = str(stamp["_data_"] if type(stamp) is dict else stamp).encode()
        schema = b"%d" % data.get("class_version", 1)
    return subject, [
        _SPEC,
        ("ce_id", b"%s:%d" % (subject, version)),
        ("ce_source", source),
        _TYPES[topic],
        ("ce_subject", subject),
        ("ce_time", time),
        ("ce_logposition", b"%d" % position),
        ("ce_schemaversion", schema),
        _CONTENT,
    ]


# The audit log's signed checkpoints (docs/audit.md), on a topic of their own.
CHECKPOINT_TYPE = "id.ledger.audit.Checkpoint"
NOTE_CONTENT_TYPE = b"text/plain; charset=utf-8"


def encode_checkpoint(
    tree_size: int, position: int, signed_at: str, source: bytes
) -> tuple[bytes, Headers]:
    """(key, headers) of the message carrying a signed checkpoint; its value is the signed
    note, byte for byte as published in the checkpoint files. The key and `ce_subject` are
    the tree size; `ce_id` is the same on every re-publication."""
    size = b"%d" % tree_size
    return size, [
        _SPEC,
        ("ce_id", b"checkpoint:" + size),
        ("ce_source", source),
        ("ce_type", CHECKPOINT_TYPE.encode()),
        ("ce_subject", size),
        ("ce_time", signed_at.encode()),
        ("ce_treesize", size),
        ("ce_logposition", b"%d" % position),
        ("content-type", NOTE_CONTENT_TYPE),
    ]


@dataclass(frozen=True)
class Received:
    """A decoded message: the stored event it carries and where it sat in the log."""

    stored: StoredEvent
    position: int
    event_id: str


def decode(key: bytes | None, value: bytes | None, headers: Any) -> Received:
    """The stored event in a message, or `EnvelopeError` saying why it is not one."""
    found = dict(headers or ())
    try:
        fields = {
            name: found[name].decode()
            for name in ("ce_specversion", "ce_id", "ce_type", "ce_subject", "ce_logposition")
        }
    except KeyError as missing:
        raise EnvelopeError("missing_header", f"no {missing.args[0]} header") from None
    except (UnicodeDecodeError, AttributeError):
        raise EnvelopeError("bad_header", "a ce_ header is not UTF-8 text") from None
    if fields["ce_specversion"] != "1.0":
        raise EnvelopeError(
            "unsupported_specversion", f"CloudEvents {fields['ce_specversion']!r} is not 1.0"
        )
    topic = TOPIC_OF_TYPE.get(fields["ce_type"])
    if topic is None:
        raise EnvelopeError("unknown_type", f"unknown event type {fields['ce_type']!r}")
    try:
        originator = UUID(fields["ce_subject"])
        participant, _, version_text = fields["ce_id"].rpartition(":")
        version = int(version_text)
        position = int(fields["ce_logposition"])
    except ValueError:
        raise EnvelopeError("bad_header", "ce_subject, ce_id or ce_logposition malformed") from None
    if participant != fields["ce_subject"] or (
        key is not None and key.decode(errors="replace") != fields["ce_subject"]
    ):
        raise EnvelopeError("bad_header", "ce_id, ce_subject and the key disagree")
    if not value:
        raise EnvelopeError("no_data", "the message has no value")
    return Received(
        StoredEvent(originator_id=originator, originator_version=version, topic=topic, state=value),
        position,
        fields["ce_id"],
    )
