"""Keeps the read models caught up while the server runs, and lets a reader wait for a
log position (read-your-writes)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("api.http")


class Follower:
    """A daemon thread that calls `catch_up()` whenever the log may have grown: every
    `poll_seconds`, and at once when a reader waits for a position not reached yet."""

    def __init__(
        self,
        catch_up: Callable[[], int],
        position: Callable[[], int],
        *,
        poll_seconds: float = 0.05,
    ) -> None:
        self._catch_up = catch_up
        self._position = position
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._moved = threading.Condition()
        self._known = 0
        self._thread: threading.Thread | None = None

    @property
    def position(self) -> int:
        """The position every read model has reached, as last seen."""
        return self._known

    def start(self) -> None:
        self._known = self._position()
        self._thread = threading.Thread(target=self._run, name="projection-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_for(self, position: int, timeout: float) -> bool:
        """True once every read model has reached `position`; False after `timeout`."""
        if self._known >= position:
            return True
        deadline = time.monotonic() + timeout
        with self._moved:
            while self._known < position:
                self._wake.set()
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._moved.wait(min(left, self.poll_seconds))
        return True

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                applied = self._catch_up()
                known = self._position()
                failures = 0
            except Exception:  # keep following; a reader then gets 503
                failures += 1
                log.warning(
                    "projection catch-up failed (%d in a row)", failures, exc_info=failures == 1
                )
                applied, known = 0, self._known
            with self._moved:
                self._known = known
                self._moved.notify_all()
            if applied == 0:
                self._wake.wait(self.poll_seconds if failures == 0 else 1.0)
                self._wake.clear()
