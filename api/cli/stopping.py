"""How a long-running command is stopped: SIGTERM (a service manager) or Ctrl-C."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def until_signalled() -> Iterator[list[bool]]:
    """A flag that SIGTERM or Ctrl-C sets: the loops finish their page or batch, record
    it and return. A second signal raises KeyboardInterrupt at once (someone who does not
    want to wait; every write is one transaction, so nothing half-done is kept).

    Installed explicitly, so the command stops the same way whether or not it was started
    with SIGINT ignored (as a shell's background job is)."""
    flag = [False]

    def handler(_signum: int, _frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
