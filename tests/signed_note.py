"""A third party's checkpoint reader, written from the C2SP signed-note and
tlog-checkpoint specifications alone: it imports nothing of the ledger, so checkpoints the
ledger publishes (over HTTP, on Kafka) are checked by code that did not sign them."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


@dataclass(frozen=True)
class Signed:
    origin: str
    tree_size: int
    root: bytes


def open_checkpoint(note: str, verifier_key: str) -> Signed | None:
    """The checkpoint in `note` if the key `<name>+<hex id>+<base64(0x01 ‖ key)>` signed
    it (an Ed25519 signature line `— <name> <base64(id ‖ sig)>`); None otherwise."""
    name, key_hash, encoded = verifier_key.split("+", 2)  # base64 may hold "+" too
    raw = base64.b64decode(encoded)
    if raw[0] != 0x01 or hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() != (
        key_hash
    ):
        return None
    body, _, signatures = note.partition("\n\n")  # text ends at the first blank line
    text = body + "\n"
    for line in signatures.splitlines():
        signer, _, blob = line.removeprefix("\u2014 ").partition(" ")
        sig = base64.b64decode(blob)
        if signer != name or sig[:4].hex() != key_hash:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], text.encode())
        except InvalidSignature:
            return None
        origin, size, root = text.splitlines()[:3]
        return Signed(origin, int(size), base64.b64decode(root))
    return None
