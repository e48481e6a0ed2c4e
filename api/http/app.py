"""The FastAPI application. Nothing is built at import time: `create_app(settings)`
makes the app, and its lifespan builds the system, starts the projection follower and
opens the API-key store; closing the app closes them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from api.http.dashboard import routes as dashboard
from api.http.deps import no_unknown_query
from api.http.errors import document_problems, install_error_handlers
from api.http.follower import Follower
from api.http.metrics import Cached, Metrics, MetricsMiddleware
from api.http.responses import OrjsonResponse
from api.http.routes import (
    audit,
    batches,
    changes,
    claims,
    coverage,
    events,
    health,
    participants,
)
from api.services import following, streaming
from infra.api_keys import ApiKeyStore, api_keys_path
from infra.bootstrap import System, build_system
from infra.settings import Settings

log = logging.getLogger("api.http")

DOCS_ASSETS = "/docs/assets"  # Swagger UI's files, shipped in the fastapi-offline package

DESCRIPTION = """\
The enrollment ledger of the workers' social security scheme (BPU), over HTTP.

Send an API key as `Authorization: Bearer <key>` (`ledger api-keys add ROLE`). Every
error is an RFC 9457 problem document (`application/problem+json`) with the ledger's
stable `code`. Every write answers with the log `position` it reached; a read given
`min_position` waits briefly for the read models to get there, else answers 503.
"""


def create_app(settings: Settings | None = None, *, follow: bool = True) -> FastAPI:
    """The API on the store `settings` name (default: from the environment).

    `follow`: keep the read models caught up in a background thread (on by default)."""
    chosen = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        system = build_system(chosen)
        probe = streaming.lag_probe(system)
        follower = Follower(
            lambda: _caught_up(system), lambda: following.positions(system).position
        )
        try:
            app.state.system = system
            app.state.api_keys = ApiKeyStore(api_keys_path(chosen))
            app.state.follower = follower
            metrics.positions = lambda: following.projection_positions(system)
            if probe is not None:
                metrics.kafka = Cached(lambda: streaming.kafka_lag(system, probe))
            if follow:
                follower.start()
            yield
        finally:
            metrics.positions = None
            metrics.kafka = None
            if probe is not None:
                probe.close()
            follower.stop()
            system.close()

    # /docs (Swagger UI) loads its script, style and icon from this server (`DOCS_ASSETS`),
    # never a CDN: many government networks block CDNs. Its validator badge is off (it
    # would send the schema's address to an outside validator). ReDoc is off: its page
    # always fetches its maker's logo from the internet.
    app: FastAPI = FastAPIOffline(
        static_url=DOCS_ASSETS,
        redoc_url=None,
        title="Enrollment ledger",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        dependencies=[Depends(no_unknown_query)],
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = chosen
    app.state.metrics = metrics
    install_error_handlers(app)
    document_problems(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for module in (
        participants,
        changes,
        claims,
        batches,
        coverage,
        events,
        audit,
        health,
        dashboard,
    ):
        app.include_router(module.router)
    return app


def _caught_up(system: System) -> int:
    applied, _ = following.catch_up(system)
    return applied


def app_from_environment() -> FastAPI:
    """The factory `ledger serve` hands uvicorn (each worker process calls it)."""
    return create_app(Settings())
