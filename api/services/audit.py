"""The audit log's use cases: seal, sign, prove, verify, recount (docs/audit.md).

Every way in calls these with a built `System`; the answers carry hashes as bytes and
render them in base64 (`as_dict()`), in the JSON shapes docs/audit.md gives.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from api.services.moments import parse_moment
from api.services.progress import Tracker, no_progress
from domain.errors import InvalidInputError, NotFoundError
from infra.audit.notes import NoteError
from infra.audit.proofs import ProofError, StoredCheckpoint, position_recorded_by
from infra.audit.sealer import ConcurrentSealerError
from infra.audit.system import Audit
from infra.bootstrap import System, projection_mapper


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# One sealing at a time within a process: the threads of a server share the system's
# sealer. (Another process sealing the same page is refused by the tree's state row.)
_sealing = threading.RLock()


def audit_of(system: System) -> Audit:
    """The signer, sealer and sealed tree over the system's ledger and view store (kept by
    the system; sealing goes through `_sealing`, one thread at a time)."""
    return system.audit


# --- the key and checkpoints ---------------------------------------------------------------


@dataclass(frozen=True)
class KeyAnswer:
    origin: str
    verifier_key: str
    publish_dir: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "verifier_key": self.verifier_key,
            "publish_dir": self.publish_dir,
        }


def verifier_key(system: System) -> KeyAnswer:
    """The verifier key, in the signed-note form, that checks the log's checkpoints."""
    audit = audit_of(system)
    return KeyAnswer(audit.signer.name, audit.signer.verifier_key, str(audit.publish_dir))


@dataclass(frozen=True)
class CheckpointAnswer:
    tree_size: int
    root: bytes
    position: int
    sealed: int  # leaves appended by this call
    note: str
    new: bool  # signed now (False: the head already had one)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": b64(self.root),
            "position": self.position,
            "sealed": self.sealed,
            "new": self.new,
            "note": self.note,
        }


def checkpoint(system: System, tracker: Tracker = no_progress) -> CheckpointAnswer:
    """Bring the tree to the head of the log and sign a checkpoint of it now."""
    audit = audit_of(system)
    with (
        tracker("sealing", system.ledger.recorder.max_notification_id() or 0) as update,
        _sealing,
    ):
        report = audit.sealer.catch_up(checkpoint=True, progress=update)
    stored = audit.tree.checkpoints()
    if not stored:
        raise ProofError("empty_log", "The log holds no events yet: nothing to sign.")
    last = stored[-1]
    return CheckpointAnswer(
        last.tree_size,
        last.root,
        last.position,
        report.sealed,
        last.note,
        new=bool(report.checkpoints),
    )


@dataclass(frozen=True)
class SealAnswer:
    tree_size: int
    position: int
    sealed: int
    checkpoints: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "position": self.position,
            "sealed": self.sealed,
            "checkpoints": self.checkpoints,
        }


def seal(
    system: System, *, follow: bool = False, poll: float = 1.0, tracker: Tracker = no_progress
) -> SealAnswer:
    """Seal the log to its head (checkpoints as they fall due); `follow`: keep following
    it until interrupted, as `projections run` does for the read models."""
    audit = audit_of(system)
    answer = SealAnswer(0, 0, 0)
    with tracker("sealing", system.ledger.recorder.max_notification_id() or 0) as update:
        while True:
            with _sealing:
                report = audit.sealer.catch_up(progress=update)
            answer = SealAnswer(
                report.tree_size,
                report.position,
                answer.sealed + report.sealed,
                answer.checkpoints + [c.tree_size for c in report.checkpoints],
            )
            if not follow:
                return answer
            try:
                time.sleep(poll)
            except KeyboardInterrupt:
                return answer


@dataclass(frozen=True)
class KeptCheckpoint:
    """A signed checkpoint as kept (never rewritten): its note and where it was cut."""

    tree_size: int
    root: bytes
    position: int  # the last log position in the tree
    signed_at: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": b64(self.root),
            "position": self.position,
            "signed_at": self.signed_at,
            "note": self.note,
        }


def _kept(stored: StoredCheckpoint) -> KeptCheckpoint:
    return KeptCheckpoint(
        stored.tree_size, stored.root, stored.position, stored.signed_at, stored.note
    )


def kept_checkpoints(system: System) -> list[KeptCheckpoint]:
    """Every checkpoint signed so far, oldest first (reads only: signs nothing)."""
    return [_kept(c) for c in audit_of(system).tree.checkpoints()]


def kept_checkpoint(system: System, tree_size: int | None = None) -> KeptCheckpoint:
    """The checkpoint signed for `tree_size` leaves, or the latest one."""
    kept = kept_checkpoints(system)
    found = kept[-1:] if tree_size is None else [c for c in kept if c.tree_size == tree_size]
    if not found:
        if tree_size is None:
            raise NotFoundError("no_checkpoint", "No checkpoint has been signed yet.")
        raise NotFoundError("no_checkpoint", f"No checkpoint was signed for tree size {tree_size}.")
    return found[0]


# --- proofs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionAnswer:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    path: list[bytes]
    signed: bool  # a checkpoint signs this tree size

    def as_dict(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": b64(self.leaf_hash),
            "root": b64(self.root),
            "path": [b64(p) for p in self.path],
        }


def prove(
    system: System,
    *,
    position: int,
    checkpoint_size: int | None = None,
    recorded_at: str | None = None,
) -> InclusionAnswer:
    """The inclusion proof of the event at `position`: in the tree of `checkpoint_size`
    leaves, or the tree as it stood at the last position recorded by `recorded_at`, or
    by default the latest checkpoint if it holds the event (else the tree sealed to the
    head of the log)."""
    if checkpoint_size is not None and recorded_at is not None:
        raise InvalidInputError(
            "checkpoint_or_time", "Give --checkpoint or --recorded-at, not both."
        )
    audit = audit_of(system)
    _seal_to_head(audit)
    signed = {c.tree_size for c in audit.tree.checkpoints()}
    size = checkpoint_size
    if recorded_at is not None:
        size = audit.tree.size_at_position(recorded_position(system, recorded_at))
    if size is None:  # the latest checkpoint, if it holds the event; else the sealed tree
        latest = max(signed, default=0)
        size = latest if audit.tree.size_at_position(position) <= latest else None
    proof = audit.tree.inclusion(position, size)
    return InclusionAnswer(
        position,
        proof.leaf_index,
        proof.tree_size,
        proof.leaf_hash,
        proof.root,
        proof.path,
        proof.tree_size in signed,
    )


@dataclass(frozen=True)
class ConsistencyAnswer:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": b64(self.old_root),
            "new_root": b64(self.new_root),
            "path": [b64(p) for p in self.path],
        }


def consistency(system: System, *, old_size: int, new_size: int) -> ConsistencyAnswer:
    """The RFC 9162 consistency proof that the tree of `new_size` leaves extends the
    tree of `old_size` (usually two checkpoints' sizes)."""
    audit = audit_of(system)
    if new_size > audit.tree.size()[0]:
        _seal_to_head(audit)
    proof = audit.tree.consistency(old_size, new_size)
    return ConsistencyAnswer(
        proof.old_size, proof.new_size, proof.old_root, proof.new_root, proof.path
    )


def _seal_to_head(audit: Audit, attempts: int = 3) -> None:
    """Seal what the log holds beyond the tree, so proofs can reach the newest events."""
    with _sealing:
        for attempt in range(attempts):
            try:
                audit.sealer.catch_up(until=None)
                return
            except ConcurrentSealerError:
                if attempt == attempts - 1:
                    return  # someone else keeps sealing: answer from the tree as it stands
                time.sleep(0.05 * (attempt + 1))


def recorded_position(system: System, recorded_at: str) -> int:
    """The last log position recorded at or before `recorded_at` (the recording clock)."""
    moment = parse_moment(recorded_at)
    return position_recorded_by(system.ledger.recorder, projection_mapper(system.ledger), moment)


__all__ = [
    "NoteError",
    "audit_of",
    "checkpoint",
    "consistency",
    "kept_checkpoint",
    "kept_checkpoints",
    "prove",
    "seal",
    "verifier_key",
]
