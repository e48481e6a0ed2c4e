"""The JSON responses: every body is encoded by orjson.

FastAPI's `ORJSONResponse` is deprecated (0.131); this is the small `Response` subclass
the project uses instead, and routes return it (or a value FastAPI hands to it).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

# Non-string dict keys (a year as int) come out as JSON strings rather than failing.
_OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonResponse(Response):
    """`application/json`, encoded by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)


class ProblemResponse(OrjsonResponse):
    """An RFC 9457 problem document."""

    media_type = "application/problem+json"
