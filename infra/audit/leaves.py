"""The leaf bytes of one stored event: what the Merkle tree commits to.

Version 1, every integer big-endian unsigned (docs/audit.md gives the same with an
example, so that anyone can recompute a leaf from an export):

    0x01                      format version, 1 byte
    position                  8 bytes, the event's log position (notification id)
    originator id             16 bytes, the aggregate's UUID
    originator version        8 bytes
    len(topic) ‖ topic        4 bytes, then the topic's UTF-8 bytes
    len(state) ‖ state        4 bytes, then the stored state bytes exactly as written
                              (orjson, personal fields still encrypted)
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any
from uuid import UUID

from infra.audit.merkle import leaf_hash

VERSION = 1
_HEAD = struct.Struct(">BQ16sQI")
_LEN = struct.Struct(">I")


def leaf_bytes(
    position: int, originator_id: UUID | str, version: int, topic: str, state: bytes
) -> bytes:
    """The canonical encoding of one stored event (see the module docstring)."""
    if not isinstance(originator_id, UUID):
        originator_id = UUID(str(originator_id))
    topic_bytes = topic.encode()
    return b"".join(
        (
            _HEAD.pack(VERSION, position, originator_id.bytes, version, len(topic_bytes)),
            topic_bytes,
            _LEN.pack(len(state)),
            state,
        )
    )


def notification_leaf(notification: Any, position: int | None = None) -> bytes:
    """The leaf bytes of a notification as the recorder returns it (optionally as if it
    stood at another position: used to tell a deletion or insertion from a change)."""
    return leaf_bytes(
        notification.id if position is None else position,
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        bytes(notification.state),
    )


def notification_hash(notification: Any) -> bytes:
    return leaf_hash(notification_leaf(notification))


_TOPICS: dict[str, bytes] = {}


def leaf_hashes(page: Any) -> list[bytes]:
    """The leaf hash of every notification in a page: `leaf_hash(notification_leaf(n))`
    for the hot loops (sealing, verifying), with each topic encoded once."""
    pack, length, sha256 = _HEAD.pack, _LEN.pack, hashlib.sha256
    topics = _TOPICS
    hashes = []
    for n in page:
        topic = topics.get(n.topic)
        if topic is None:
            topic = topics[n.topic] = n.topic.encode()
        originator = n.originator_id
        raw = originator.bytes if isinstance(originator, UUID) else UUID(str(originator)).bytes
        state = n.state if isinstance(n.state, bytes) else bytes(n.state)
        hashes.append(
            sha256(
                b"\x00"
                + pack(VERSION, n.id, raw, n.originator_version, len(topic))
                + topic
                + length(len(state))
                + state
            ).digest()
        )
    return hashes
