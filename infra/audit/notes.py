"""Signed checkpoints in the C2SP `tlog-checkpoint` signed-note format, with Ed25519.

A checkpoint is a note whose text is three lines: the log's origin, the tree size in
decimal, the root hash in standard base64. A signature line is `— <key name> <base64(key
id ‖ signature)>`, after one blank line; the key id is the first 4 bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key) (signed-note, Ed25519 = type 0x01). The
verifier key is printed as `<name>+<key id, 8 hex digits>+<base64(0x01 ‖ public key)>`,
the form existing signed-note verifiers (golang.org/x/mod/sumdb/note) accept.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
DASH = "\u2014 "  # an em dash and a space open every signature line


class NoteError(ValueError):
    """A note or verifier key that is malformed."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class NoteSigner:
    """Signs notes under a key name (the log's origin) with an Ed25519 private key."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def verifier_key(self) -> str:
        public = self.public_key
        return (
            f"{self.name}+{key_id(self.name, public).hex()}+"
            f"{base64.b64encode(bytes([ED25519]) + public).decode()}"
        )

    def sign(self, text: str) -> str:
        """The signed note: the text, a blank line, one signature line."""
        if not text.endswith("\n"):
            raise NoteError("a note's text ends with a newline")
        signature = self.private_key.sign(text.encode())
        blob = base64.b64encode(key_id(self.name, self.public_key) + signature).decode()
        return f"{text}\n{DASH}{self.name} {blob}\n"


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def parse_verifier_key(text: str) -> Verifier:
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        identifier = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise NoteError(f"'{text}' is not a verifier key name+id+key") from None
    if len(raw) != 33 or raw[0] != ED25519 or len(identifier) != 4:
        raise NoteError("only Ed25519 verifier keys are known here")
    if key_id(name, raw[1:]) != identifier:
        raise NoteError("the verifier key's id does not match its key")
    return Verifier(name, identifier, Ed25519PublicKey.from_public_bytes(raw[1:]))


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text if one of its signatures is the verifier's and valid; else NoteError."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise NoteError("a signed note has a blank line before its signatures")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith(DASH):
            raise NoteError(f"malformed signature line '{line}'")
        name, _, blob = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue
        try:
            verifier.public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature by {name} is not valid") from None
        return text
    raise NoteError(f"the note carries no signature by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes
    note: str = ""

    @property
    def text(self) -> str:
        return checkpoint_text(self.origin, self.tree_size, self.root)


def checkpoint_text(origin: str, tree_size: int, root: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """A checkpoint whose signature checked out; NoteError if not."""
    lines = open_note(note, verifier).split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError, binascii.Error):
        raise NoteError("a checkpoint is origin, tree size and base64 root, one a line") from None
    if len(root) != 32 or size < 0 or not origin:
        raise NoteError("a checkpoint has an origin, a size and a 32-byte root")
    return Checkpoint(origin, size, root, note)


def load_signing_key(seed_b64: str | None, var_dir: Path) -> Ed25519PrivateKey:
    """The Ed25519 key from settings (base64 of its 32-byte seed), or else the embedded
    default's `var/audit-key` (0600), created on first use."""
    if seed_b64:
        try:
            seed = base64.b64decode(seed_b64, validate=True)
        except binascii.Error:
            raise NoteError("LEDGER_AUDIT_SIGNING_KEY must be base64") from None
    else:
        path = var_dir / "audit-key"
        if not path.exists():
            _create_once(path, base64.b64encode(os.urandom(32)) + b"\n")
        seed = base64.b64decode(path.read_bytes().strip())
    if len(seed) != 32:
        raise NoteError("the audit signing key is 32 bytes (an Ed25519 seed)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _create_once(path: Path, data: bytes) -> None:
    """Write whole under a temporary name, then link into place: a process starting at
    the same moment either wins or reads the winner's complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
