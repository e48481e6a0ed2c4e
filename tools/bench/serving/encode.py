"""The API's response encoding beside pydantic's, on the same payloads, in process.

The API renders every body with orjson (`api.http.responses.OrjsonResponse.render`:
`orjson.dumps(body, option=OPT_NON_STR_KEYS)`); FastAPI's own fast path would validate a
route's return value into its response model and serialise it with pydantic's Rust
serializer. The model here is built from the payloads' own fields (a tool sits below the
API and does not import it), which is the shape the API's response models describe.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, create_model

_OPTIONS = orjson.OPT_NON_STR_KEYS  # as the API's response class


def model_of(payload: dict[str, Any]) -> type[BaseModel]:
    """A response model with the payload's fields and their types (None: any)."""
    fields: dict[str, Any] = {
        name: ((type(value) if value is not None else Any) | None, None)
        for name, value in payload.items()
    }
    return create_model("Answer", **fields)


def encode_costs(
    payloads: list[dict[str, Any]], rounds: int = 5, per_round: int = 2_000
) -> dict[str, float]:
    """Median microseconds per payload: orjson as the API renders, and pydantic's
    validate-then-`dump_json` through a response model, as FastAPI would."""
    adapter = TypeAdapter(model_of(payloads[0]))

    def ours() -> None:
        for body in payloads:
            orjson.dumps(body, option=_OPTIONS)

    def pydantic() -> None:
        for body in payloads:
            adapter.dump_json(adapter.validate_python(body))

    return {
        "orjson": _median_us(ours, payloads, rounds, per_round),
        "pydantic": _median_us(pydantic, payloads, rounds, per_round),
    }


def _median_us(
    run: Callable[[], None], payloads: list[dict[str, Any]], rounds: int, per_round: int
) -> float:
    repeats = max(1, per_round // len(payloads))
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        samples.append((time.perf_counter() - start) / (repeats * len(payloads)) * 1e6)
    return statistics.median(samples)
