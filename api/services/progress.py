"""How a long use case reports progress, without knowing who shows it.

A service given a `Tracker` opens one tracked task per long step (`tracker(label, total)`)
and calls the `Update` it yields with (done, total) as it goes. The command line shows a
progress bar; the HTTP API passes `no_progress`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Update = Callable[[int, int | None], None]  # (done, total): absolute, not increments


class Tracker(Protocol):
    """Opens a tracked task: `with tracker("replaying", total) as update: ...`."""

    def __call__(self, label: str, total: int | None) -> AbstractContextManager[Update]: ...


@contextmanager
def no_progress(label: str, total: int | None) -> Iterator[Update]:
    """A tracker that shows nothing."""

    def ignore(done: int, total: int | None) -> None:
        return None

    yield ignore
