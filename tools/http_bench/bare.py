"""The baseline for the HTTP benchmark: a bare FastAPI endpoint returning a constant,
served by the same uvicorn, answered by the same response class and thread pool."""

from __future__ import annotations

from fastapi import FastAPI

from api.http.responses import OrjsonResponse

CONSTANT = {"status": "ok"}


def create_bare_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/bare")
    def bare() -> OrjsonResponse:
        return OrjsonResponse(CONSTANT)

    return app
