"""Request and response schemas (what /openapi.json documents), apart from the domain."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    field: str = Field(description="The field, dotted (`programmes.0`).")
    in_: str = Field(alias="in", description="body, query, path or header.")
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document; `code` is the ledger's stable error code."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:ledger:problem:invalid_nik"])
    title: str
    status: int
    code: str = Field(examples=["invalid_nik"])
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "The body is not JSON.", 401: "No API key, or an unknown or revoked one.",
    403: "The key's role may not do this.", 404: "No such participant, claim or route.",
    409: "Contradicts the recorded facts.", 422: "Invalid input, or refused by the rules.",
    503: "Not ready: the read models are behind (see Retry-After).",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may answer these problem statuses."""
    return {status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "A problem."),
                     "content": {"application/problem+json": {}}}
            for status in statuses}


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    head: int
    position: int
    lag: int
