"""The HTTP API under load (`ledger bench --http`): `ledger serve` and a bare FastAPI
endpoint, each in a process of its own, driven over loopback by the same closed-loop
client from this process; and the response encoder beside pydantic's serializer."""
