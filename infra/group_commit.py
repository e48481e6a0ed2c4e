"""Group commit: many concurrent single commands, one transaction per round.

A write costs a durable commit (an fsync on SQLite, a round trip and a WAL flush on
PostgreSQL) whatever it holds, so a ledger that commits each caller's command alone is
bound by commits, not by work. Here callers hand their command to one writer thread and
wait; the writer takes everything submitted while its previous round was committing,
runs it through `Ledger.execute_many` (one transaction) and answers each caller after
that commit. A command is acknowledged only once it is durable, as with a direct call.

Under light load a round holds one command and adds no latency. Under load rounds
grow by themselves (what arrived during the last commit), up to `max_batch` commands;
and while a round is smaller than the last one, the writer lingers up to `linger`
seconds (2 ms) for the last round's callers to come back with their next command (the
thread hand-off is slower than the writer, so without it rounds stay small). Two commands with the
same NIK or the same payment reference never share a round (the second goes in the next
one), so a repeated command gets the answer it would get alone: the original result
for a repeat, a conflict for a different fact.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Self
from uuid import UUID

from domain.commands import Enroll, RecordContribution
from domain.errors import LedgerError
from domain.ledger import EnrollmentResult, Ledger, PaymentResult

Groupable = Enroll | RecordContribution
GROUPABLE = (Enroll, RecordContribution)  # what `Ledger.execute_many` takes


@dataclass
class _Command:
    command: Groupable
    future: Future[Any] = field(default_factory=Future)

    @property
    def key(self) -> tuple[type, str]:
        """Commands with the same key never share a round: one NIK, one payment reference."""
        if isinstance(self.command, Enroll):
            return Enroll, self.command.nik.digits
        return RecordContribution, self.command.payment_ref


class GroupCommitter:
    """Single commands from many threads, committed together. Use as a context manager,
    or call `close()`: it answers everything already submitted, then stops the writer."""

    def __init__(self, ledger: Ledger, *, max_batch: int = 500, linger: float = 0.002) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if not 0 <= linger <= 1:
            raise ValueError("linger is between 0 and 1 second")
        self.ledger = ledger
        self.max_batch = max_batch
        self.linger = linger
        self.rounds = 0  # transactions committed (or attempted)
        self.commands = 0  # commands answered
        self._queue: queue.SimpleQueue[_Command | None] = queue.SimpleQueue()
        self._closed = False
        self._carried: list[_Command] = []  # held back from a round (a repeated key)
        self._lock = threading.Lock()
        self._writer = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._writer.start()

    # --- callers --------------------------------------------------------------------------

    def submit(self, command: Groupable) -> Future[Any]:
        """Queue one command (`Enroll` or `RecordContribution`); its future holds the
        ledger's result (`EnrollmentResult` / `PaymentResult`) or the `LedgerError` that
        refused it."""
        if not isinstance(command, GROUPABLE):
            raise TypeError(
                f"unknown command type {type(command).__name__}; "
                "only enrollments and payments are grouped"
            )
        queued = _Command(command)
        with self._lock:  # no command slips in behind the stop marker
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self._queue.put(queued)
        return queued.future

    def enroll(self, command: Enroll) -> UUID:
        """`Ledger.enroll`, committed with whatever else is waiting."""
        result: EnrollmentResult = self.submit(command).result()
        return result.participant_id

    def record_contribution(self, command: RecordContribution) -> PaymentResult:
        """`Ledger.record_contribution`, committed with whatever else is waiting."""
        result: PaymentResult = self.submit(command).result()
        return result

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._writer.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the writer -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._rounds()
        finally:  # the writer is gone (closed, or killed by a BaseException): nobody waits forever
            with self._lock:
                self._closed = True
            stranded = [c for c in self._carried if not c.future.done()]
            for command in stranded:
                command.future.set_exception(RuntimeError("the group committer stopped"))
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None and not item.future.done():
                    item.future.set_exception(RuntimeError("the group committer stopped"))

    def _rounds(self) -> None:
        carried = self._carried
        stopping = False
        expected = 1  # the last round's size: how many callers are likely to come back
        while carried or not stopping:
            round_: list[_Command] = []
            keys: set[tuple[type, str]] = set()
            later: list[_Command] = []
            for command in carried:
                self._take(command, round_, keys, later)
            carried[:] = later
            if not round_:
                item = self._queue.get()  # idle: wait for the next caller
                if item is None:
                    stopping = True
                    continue
                self._take(item, round_, keys, carried)
            # Take what is waiting; while the round is smaller than the last one (its
            # callers are coming back with their next command), linger a little for them.
            deadline = time.monotonic() + self.linger
            while len(round_) < self.max_batch and not stopping:
                try:
                    if len(round_) >= expected:
                        item = self._queue.get_nowait()
                    else:
                        item = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    self._take(item, round_, keys, carried)
            if round_:
                self._commit(round_)
                expected = len(round_)

    def _take(
        self,
        command: _Command,
        round_: list[_Command],
        keys: set[tuple[type, str]],
        later: list[_Command],
    ) -> None:
        if command.key in keys or len(round_) >= self.max_batch:
            later.append(command)
            return
        keys.add(command.key)
        round_.append(command)

    def _commit(self, round_: list[_Command]) -> None:
        self.rounds += 1
        try:
            outcomes = self.ledger.execute_many([c.command for c in round_])
        except BaseException as error:  # every caller of the round hears of it
            for command in round_:
                command.future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for command, outcome in zip(round_, outcomes, strict=True):
            if isinstance(outcome, LedgerError):
                command.future.set_exception(outcome)
            else:
                command.future.set_result(outcome)
        self.commands += len(round_)
