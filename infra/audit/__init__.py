"""The audit log (docs/audit.md): the log as an RFC 9162 Merkle tree.

`merkle` (hashing and proofs, on hashlib), `leaves` (the canonical leaf bytes), `tiles`
(the stored tree), `sealer` (follows the log, signs checkpoints), `notes` (C2SP signed
notes, Ed25519), `proofs` (answers from the stored tree), `verify`, `recount` (coverage
counted again without the projections), `export` and `system` (built from settings).
Its benchmark is a phase of `tools/bench` (`tools/bench/audit.py`).
"""
