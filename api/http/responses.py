"""The JSON responses: every body is encoded by orjson.

FastAPI's `ORJSONResponse` is deprecated (0.131); this is the small response class the
project uses instead. Routes build it themselves, so no body goes through another encoder.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

# Non-string dict keys (a year as int) come out as JSON strings rather than failing.
_OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonResponse(JSONResponse):
    """`application/json`, encoded by orjson. (A `JSONResponse` subclass only so that
    FastAPI documents the route's response model; the encoding is ours.)"""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)


class ProblemResponse(OrjsonResponse):
    """An RFC 9457 problem document."""

    media_type = "application/problem+json"
