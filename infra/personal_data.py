"""Personal data at rest: per-subject AES-GCM keys, and the mapper that uses them.

- `KeyVault`: one 256-bit data key per subject (a participant, a NIK index entry), kept
  in a table of its own, each key wrapped (AES-GCM) under the master key from settings,
  so neither the database nor the master key alone reveals anything. `shred()` deletes
  keys: what they encrypted is unreadable from then on (erasure).
- New keys are not written when they are made: they wait in memory (per thread) until
  the save whose events use them, and the event store's recorder writes them inside
  that save (`infra.keyed_recorders`): in the events' own transaction on PostgreSQL, and
  on SQLite committed to the key file while the save holds the log's write lock, just
  before the events commit. So a key is durable before any event encrypted with it is,
  and a save that fails or is killed leaves no key behind (on SQLite the one batch a
  kill can strand between the two commits is remembered and removed by the next save
  or the next start).
- `PersonalDataMapper`: before an event is stored, the attributes its class lists in
  `personal_fields` are transcoded together and encrypted under the subject's key, with
  the event's (originator id, version) as associated data so a ciphertext cannot be
  moved to another event. Reading decrypts them, or sets them to None when the key is
  gone. With `decrypt=False` (projections, relays) no key is looked up at all.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

PII_FIELD = "_pii_"
_KEY_BYTES = 32
_NONCE_BYTES = 12


class KeyVault:
    """Base for the SQLite and PostgreSQL key tables: wrapping, caching, the protocol."""

    # How long another process may go on using a key this process has cached after it was
    # shredded elsewhere. The ledger's own reads also check for `PersonalDataErased`.
    cache_seconds = 60.0

    def __init__(self, master_key: bytes, cache_size: int = 100_000) -> None:
        if len(master_key) != _KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        self._master = AESGCM(master_key)
        self._cache: OrderedDict[UUID, tuple[AESGCM, float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        # Set by a recorder that writes new keys with the events that use them; until
        # then `ensure_keys` writes keys at once (a vault used on its own).
        self.writes_with_events = False
        self._local = threading.local()  # this thread's keys not yet written

    # --- the PersonalDataVault protocol (domain.ledger) ---------------------------------

    def ensure_keys(self, key_ids: Iterable[UUID]) -> None:
        wanted = [k for k in dict.fromkeys(key_ids) if k not in self._cache]
        if not wanted:
            return
        staged = self._staged()
        wanted = [k for k in wanted if k not in staged]
        if not wanted:
            return
        existing = self._select(wanted)
        fresh = {k: AESGCM.generate_key(bit_length=256) for k in wanted if k not in existing}
        if fresh and self.writes_with_events:
            for key_id, key in fresh.items():  # written by the save that uses them
                cipher = AESGCM(key)
                staged[key_id] = (cipher, self._wrap(key_id, key))
                self._remember(key_id, cipher)
        elif fresh:
            self._insert({k: self._wrap(k, key) for k, key in fresh.items()})
            existing.update(self._select(list(fresh)))  # the winner, if another writer raced us
        for key_id, wrapped in existing.items():
            self._remember(key_id, AESGCM(self._unwrap(key_id, wrapped)))

    def shred(self, key_ids: Iterable[UUID]) -> None:
        ids = list(dict.fromkeys(key_ids))
        staged = self._staged()
        with self._lock:
            for key_id in ids:
                self._cache.pop(key_id, None)
        # Keys never written (their save failed) are only forgotten: no write at all.
        written = [k for k in ids if staged.pop(k, None) is None]
        self._used().difference_update(ids)
        if written:
            self._delete(written)

    # --- used by the recorder (infra.keyed_recorders) -------------------------------------

    def take_pending(self) -> dict[UUID, bytes]:
        """This thread's new keys that the events being saved use (wrapped), now handed
        to the recorder to write with them; `restore_pending` if the save fails."""
        staged, used = self._staged(), self._used()
        pending = {k: staged.pop(k)[1] for k in used if k in staged}
        used.clear()
        self._local.in_flight = pending
        return pending

    def saved(self) -> None:
        """The save that wrote the pending keys committed."""
        self._local.in_flight = {}

    def restore_pending(self) -> None:
        """The save failed: its keys were not written (or, on SQLite, only as a batch the
        next save removes); they wait again, forgotten by `shred` or used by a retry."""
        in_flight: dict[UUID, bytes] = getattr(self._local, "in_flight", {})
        staged = self._staged()
        for key_id, wrapped in in_flight.items():
            staged[key_id] = (AESGCM(self._unwrap(key_id, wrapped)), wrapped)
        self._local.in_flight = {}

    def _staged(self) -> dict[UUID, tuple[AESGCM, bytes]]:
        staged: dict[UUID, tuple[AESGCM, bytes]] | None = getattr(self._local, "staged", None)
        if staged is None:
            staged = self._local.staged = {}
        return staged

    def _used(self) -> set[UUID]:
        used: set[UUID] | None = getattr(self._local, "used", None)
        if used is None:
            used = self._local.used = set()
        return used

    # --- used by the mapper -------------------------------------------------------------

    def cipher(self, key_id: UUID) -> AESGCM | None:
        staged = self._staged().get(key_id)
        if staged is not None:
            return staged[0]
        entry = self._cache.get(key_id)
        if entry is not None and time.monotonic() - entry[1] < self.cache_seconds:
            return entry[0]
        wrapped = self._select([key_id]).get(key_id)
        if wrapped is None:
            with self._lock:
                self._cache.pop(key_id, None)
            return None
        cipher = AESGCM(self._unwrap(key_id, wrapped))
        self._remember(key_id, cipher)
        return cipher

    def cipher_for_writing(self, key_id: UUID) -> AESGCM:
        if self.writes_with_events:
            self._used().add(key_id)  # the save being mapped needs this key written with it
        cipher = self.cipher(key_id)
        if cipher is None:
            self.ensure_keys([key_id])
            cipher = self.cipher(key_id)
        if cipher is None:
            raise RuntimeError(f"no data key for {key_id}")
        return cipher

    def count(self) -> int:
        raise NotImplementedError

    # --- internals ----------------------------------------------------------------------

    def _remember(self, key_id: UUID, cipher: AESGCM) -> None:
        with self._lock:
            self._cache[key_id] = (cipher, time.monotonic())
            self._cache.move_to_end(key_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _wrap(self, key_id: UUID, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, key_id.bytes)

    def _unwrap(self, key_id: UUID, wrapped: bytes) -> bytes:
        return self._master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], key_id.bytes)

    def _select(self, key_ids: list[UUID]) -> dict[UUID, bytes]:
        raise NotImplementedError

    def _insert(self, wrapped: dict[UUID, bytes]) -> None:
        raise NotImplementedError

    def _delete(self, key_ids: list[UUID]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


class PersonalDataMapper(Mapper[UUID]):
    """A `Mapper` that encrypts each event's personal fields under its subject's key."""

    def __init__(
        self,
        transcoder: Transcoder,
        vault: Any,
        *,
        decrypt: bool = True,
        compressor: Any = None,
        cipher: Any = None,
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        self.vault: KeyVault = vault  # only looked up when writing, or reading with decrypt
        self.decrypt = decrypt

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        fields: tuple[str, ...] = getattr(type(domain_event), "personal_fields", ())
        if not fields:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        secret = {name: state.pop(name) for name in fields}
        key_id = state[getattr(type(domain_event), "key_field", "originator_id")]
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.vault.cipher_for_writing(key_id).encrypt(
            nonce,
            self.transcoder.encode(secret),
            _aad(state["originator_id"], state["originator_version"]),
        )
        state[PII_FIELD] = base64.b64encode(nonce + sealed).decode("ascii")
        stand_in = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(stand_in)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        sealed = state.pop(PII_FIELD, None)
        if sealed is None:
            return event
        fields: tuple[str, ...] = getattr(type(event), "personal_fields", ())
        revealed = self._reveal(event, state, sealed) if self.decrypt else None
        for name in fields:
            state[name] = revealed.get(name) if revealed is not None else None
        return event

    def _reveal(self, event: Any, state: dict[str, Any], sealed: str) -> dict[str, Any] | None:
        key_id = state[getattr(type(event), "key_field", "originator_id")]
        cipher = self.vault.cipher(key_id)
        if cipher is None:
            return None  # erased
        try:
            blob = base64.b64decode(sealed, validate=True)
            if len(blob) < _NONCE_BYTES + 16:  # nonce + GCM tag at the least
                return None
            plain = cipher.decrypt(
                blob[:_NONCE_BYTES],
                blob[_NONCE_BYTES:],
                _aad(state["originator_id"], state["originator_version"]),
            )
        except (InvalidTag, binascii.Error, ValueError, TypeError):
            return None  # damaged or moved: unreadable, never garbage
        revealed: dict[str, Any] = self.transcoder.decode(plain)
        return revealed


def _aad(originator_id: UUID, version: int) -> bytes:
    return originator_id.bytes + version.to_bytes(8, "big")
