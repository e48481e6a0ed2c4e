"""The log as a paged feed for pull-based readers: events as stored, personal fields
still encrypted (nothing is decrypted, no key is looked up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.services.viewer import plain
from infra.bootstrap import System
from infra.personal_data import PII_FIELD

MAX_PAGE = 1000


@dataclass(frozen=True)
class FeedPage:
    """Events after a position, oldest first; `next_after` is where to ask from next."""

    after: int
    head: int
    events: list[dict[str, Any]]

    @property
    def next_after(self) -> int:
        return self.events[-1]["position"] if self.events else self.after

    def as_dict(self) -> dict[str, Any]:
        return {
            "after": self.after,
            "next_after": self.next_after,
            "head": self.head,
            "events": self.events,
        }


def page(system: System, *, after: int = 0, limit: int = 100) -> FeedPage:
    """Up to `limit` (at most 1,000) events at positions after `after`."""
    limit = max(1, min(limit, MAX_PAGE))
    ledger = system.ledger
    notifications = ledger.recorder.select_notifications(start=after + 1, limit=limit)
    decode = ledger.mapper.transcoder.decode  # the stored state, not the domain event
    events = []
    for n in notifications:
        data = decode(n.state)
        sealed = data.pop(PII_FIELD, None)
        recorded_at = data.pop("timestamp", None)
        for key in ("originator_id", "originator_version", "originator_topic"):
            data.pop(key, None)
        events.append(
            {
                "position": n.id,
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                "type": n.topic.rsplit(".", 1)[-1],
                "topic": n.topic,
                "recorded_at": plain(recorded_at),
                "data": plain(data),
                "personal_encrypted": sealed,
            }
        )
    return FeedPage(after, system.head(), events)
