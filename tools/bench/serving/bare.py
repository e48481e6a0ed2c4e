"""The baseline for the HTTP benchmark: a bare FastAPI endpoint returning a constant,
served by the same uvicorn and answered from the same thread pool as the API's routes
(a plain `def`), its body encoded by orjson as the API's are."""

from __future__ import annotations

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

CONSTANT = orjson.dumps({"status": "ok"})


def create_bare_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/bare")
    def bare() -> Response:
        return Response(CONSTANT, media_type="application/json")

    return app
