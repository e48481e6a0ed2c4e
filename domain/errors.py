"""Domain errors: each carries a stable `code` for machines and a human `message`.

The class says what kind of refusal it is (the API maps kinds to HTTP statuses once);
the code says exactly which rule refused it.
"""

from __future__ import annotations


class LedgerError(Exception):
    """A command or query the ledger refuses. Nothing has been written."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InvalidInputError(LedgerError):
    """The input is malformed or breaks a validation rule (bad NIK, unknown village)."""


class RuleViolationError(LedgerError):
    """Well-formed, but the scheme's rules refuse it (claim outside coverage)."""


class ConflictError(LedgerError):
    """It contradicts what the ledger already holds (NIK enrolled, payment ref reused)."""


class NotFoundError(LedgerError):
    """No participant or claim answers to the given identifier."""
