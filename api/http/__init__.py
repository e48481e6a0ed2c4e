"""The HTTP API: `create_app(settings)` builds the FastAPI app; its lifespan builds the system."""

from __future__ import annotations

from api.http.app import create_app

__all__ = ["create_app"]
