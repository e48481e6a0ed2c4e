"""The response encoder beside pydantic's: the same payloads, in process, no server.

The API builds its JSON with orjson (`api.http.responses.OrjsonResponse`); FastAPI's
own fast path serialises a route's return value with pydantic's Rust serializer through
the route's response model. This measures both on real answers of the running API.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter

from api.http.responses import OrjsonResponse


def encode_costs(payloads: list[dict[str, Any]], model: type[BaseModel],
                 rounds: int = 5, per_round: int = 2_000) -> dict[str, float]:
    """Median microseconds per payload: ours (orjson via the response class's `render`)
    and pydantic's (validate into the response model, then `dump_json`, as FastAPI does)."""
    adapter = TypeAdapter(model)
    response = OrjsonResponse(None)

    def ours() -> None:
        for body in payloads:
            response.render(body)

    def pydantic() -> None:
        for body in payloads:
            adapter.dump_json(adapter.validate_python(body))

    result = {}
    for name, run in (("orjson", ours), ("pydantic", pydantic)):
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(max(1, per_round // len(payloads))):
                run()
            count = max(1, per_round // len(payloads)) * len(payloads)
            samples.append((time.perf_counter() - start) / count * 1e6)
        result[name] = statistics.median(samples)
    assert orjson.loads(response.render(payloads[0])) == payloads[0]
    return result
