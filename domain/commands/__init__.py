"""The ledger's commands as typed values, and one parser per command.

Every way in (CSV rows, JSON fields, command-line arguments) hands `parse(Kind, fields)`
a mapping of strings (or already typed values) and gets a frozen command back, or an
`InvalidInputError` with the same code and message whichever way it came in. The
`Ledger` takes only these typed commands: it checks what needs its clock, its rule book
or its store, never a string's shape.

- `model`: the commands (`Enroll`, `RecordContribution`, ... `ErasePersonalData`).
- `parsers`: `parse`, one registered parser per command, and `run_parsed` for batches.
- `fields`: the shapes of single fields (required text, ids, phone, occupation, dates).
"""

from __future__ import annotations

from domain.commands.model import (
    ApproveClaim,
    ChangeProgrammes,
    Command,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
)
from domain.commands.parsers import PARSERS, parse, run_parsed

__all__ = [
    "PARSERS",
    "ApproveClaim",
    "ChangeProgrammes",
    "Command",
    "CorrectDetails",
    "DeclareIncome",
    "Enroll",
    "ErasePersonalData",
    "FileClaim",
    "PayClaim",
    "RecordContribution",
    "RecordDeath",
    "RejectClaim",
    "Withdraw",
    "parse",
    "run_parsed",
]
