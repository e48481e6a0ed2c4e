"""The HTTP API benchmark (`ledger bench --http`): `ledger serve` and a bare FastAPI
endpoint under the same closed-loop load, from another process, over loopback."""
