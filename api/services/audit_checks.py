"""The auditor's own checks of the log: `verify` (recompute the tree from the stored
events and check every signed checkpoint against it) and `recount` (coverage counted by a
path that shares nothing with the projections). The proofs and checkpoints they check
against are `api.services.audit`'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.services.audit import audit_of, b64, recorded_position
from api.services.moments import month_or_this
from api.services.progress import Tracker, no_progress
from domain.errors import InvalidInputError
from infra.audit.recount import differences, live_coverage, recount
from infra.audit.verify import verify_log
from infra.bootstrap import System, projection_mapper

# --- verify --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyAnswer:
    ok: bool
    first_bad_position: int | None
    checked: int
    tree_size: int
    root: bytes
    checkpoints: int
    unsealed: int
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_bad_position": self.first_bad_position,
            "checked": self.checked,
            "tree_size": self.tree_size,
            "root": b64(self.root),
        }


def verify(
    system: System,
    *,
    from_position: int | None = None,
    until_position: int | None = None,
    checkpoint_files: list[Path] | None = None,
    recorded_at: str | None = None,
    tracker: Tracker = no_progress,
) -> VerifyAnswer:
    """Recompute the tree from the stored events; check every checkpoint (the stored ones
    and those in `checkpoint_files`, a note or a folder of them) and name the first bad
    position. `until_position`, or `recorded_at` (the last position recorded by then): only
    the tree as it stood there. `from_position` with `until_position` checks one range,
    so that several processes can divide a long log between them."""
    audit = audit_of(system)
    notes = [_read_note(path) for path in _note_files(checkpoint_files or [])]
    if until_position is not None and recorded_at is not None:
        raise InvalidInputError("until_or_time", "Give --until or --recorded-at, not both.")
    until = recorded_position(system, recorded_at) if recorded_at is not None else until_position
    with tracker("verifying", audit.tree.size()[0]) as update:
        report = verify_log(
            system.ledger.recorder,
            system.views,
            audit.verifier,
            audit.signer.name,
            from_position=from_position,
            until_position=until,
            extra_notes=notes,
            progress=update,
        )
    return VerifyAnswer(
        report.ok,
        report.first_bad_position,
        report.checked,
        report.tree_size,
        report.root,
        report.checkpoints,
        report.unsealed,
        [p.message for p in report.problems],
    )


def _note_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob("*.checkpoint"), key=lambda p: (len(p.name), p.name))
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidInputError("checkpoint_not_found", f"No checkpoint file at {path}.")
    return found


def _read_note(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError("unreadable_checkpoint", f"{path}: {error}") from None


# --- recount -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecountAnswer:
    position: int
    period: str | None
    cells: int
    active: int
    differences: list[dict[str, Any]]

    @property
    def equal(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "period": self.period,
            "cells": self.cells,
            "active": self.active,
            "equal": self.equal,
            "differences": self.differences,
        }


def recount_coverage(
    system: System, *, period: str | None = None, tracker: Tracker = no_progress
) -> RecountAnswer:
    """Count coverage again from the raw events, independently of the projections, and
    list every cell where the live read model differs (both at the same log position)."""
    month = month_or_this(period) if period else None
    system.runner.catch_up()
    position, live = live_coverage(system.views, month)
    with tracker("recounting", position) as update:
        counted = recount(
            system.ledger.recorder,
            projection_mapper(system.ledger),
            until=position,
            period=month,
            progress=update,
        )
    return RecountAnswer(
        position,
        str(month) if month else None,
        len(counted),
        sum(c[0] for c in counted.values()),
        differences(live, counted),
    )
