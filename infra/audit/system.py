"""Builds the audit parts from settings: the signer, the sealer, the sealed tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from domain.ledger import Ledger
from infra.audit.notes import (
    NoteError,
    NoteSigner,
    Verifier,
    load_signing_key,
    parse_verifier_key,
)
from infra.audit.proofs import SealedTree
from infra.audit.sealer import Sealer
from infra.settings import ConfigurationError, Settings, parse_database_url
from projections.store import ViewStore


def publish_dir(settings: Settings) -> Path:
    """Where checkpoints are published: `<db>-checkpoints/` beside an SQLite log, else
    `<var>/checkpoints/`, unless LEDGER_AUDIT_PUBLISH_DIR says otherwise."""
    if settings.audit_publish_dir is not None:
        return settings.audit_publish_dir
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite" and db.path is not None:
        return db.path.with_name(db.path.stem + "-checkpoints")
    return settings.var_dir / "checkpoints"


def build_signer(settings: Settings) -> NoteSigner:
    """The checkpoints' signer; a malformed key is a configuration error."""
    seed = settings.audit_signing_key.get_secret_value() if settings.audit_signing_key else None
    try:
        return NoteSigner(settings.audit_origin, load_signing_key(seed, settings.var_dir))
    except NoteError as error:
        raise ConfigurationError(str(error)) from None


@dataclass
class Audit:
    """The audit log's parts over one ledger and one view store."""

    signer: NoteSigner
    sealer: Sealer
    tree: SealedTree
    publish_dir: Path

    @property
    def verifier(self) -> Verifier:
        return parse_verifier_key(self.signer.verifier_key)


def build_audit(settings: Settings, ledger: Ledger, store: ViewStore) -> Audit:
    signer = build_signer(settings)
    folder = publish_dir(settings)
    sealer = Sealer(
        ledger.recorder,
        store,
        signer,
        every=settings.audit_checkpoint_every,
        seconds=settings.audit_checkpoint_seconds,
        publish_dir=folder,
    )
    return Audit(signer, sealer, SealedTree(store), folder)
