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
    400: "The body is not JSON.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role may not do this.",
    404: "No such participant, claim or route.",
    409: "Contradicts the recorded facts.",
    422: "Invalid input, or refused by the rules.",
    503: "Not ready: the read models are behind (see Retry-After).",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may answer these problem statuses."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, "A problem."),
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    head: int
    position: int
    lag: int


class Written(BaseModel):
    """A write's answer: what it touched and the log position it reached."""

    model_config = ConfigDict(extra="allow")

    participant_id: str
    position: int | None


class Enrolled(Written):
    replayed: bool


class Paid(Written):
    payment_ref: str
    first_month: str
    last_month: str
    months: int
    amount: int
    replayed: bool


class ClaimWritten(Written):
    claim_id: str
    amount: int | None = None


class Status(BaseModel):
    """Status on a day. From the read model (`source: read_model`) for today; from the
    events otherwise, which also gives `covered`, `arrears_amount`, `jht_balance`."""

    model_config = ConfigDict(extra="allow")

    participant_id: str
    as_of: str
    status: str
    programmes: list[str]
    paid_through: str | None
    arrears_months: int
    village: str
    enrolled_on: str
    open_claims: int
    source: str
    position: int
    covered: bool | None = None
    covered_programmes: list[str] | None = None
    nik: str | None = None
    name: str | None = None


class HistoryEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: int
    type: str
    recorded_at: str
    data: dict[str, Any]


class History(BaseModel):
    participant_id: str
    events: list[HistoryEvent]


class Coverage(BaseModel):
    model_config = ConfigDict(extra="allow")

    position: int
    period: str
    level: str
    rows: list[dict[str, Any]]


class FeedEvent(BaseModel):
    position: int
    originator_id: str
    originator_version: int
    type: str
    topic: str
    recorded_at: str | None
    data: dict[str, Any]
    personal_encrypted: str | None


class Feed(BaseModel):
    after: int
    next_after: int
    head: int
    events: list[FeedEvent]


class BatchResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    command_id: str | None
    status: int
    position: int | None = None
    problem: Problem | None = None


class BatchAnswer(BaseModel):
    results: list[BatchResult]


class InclusionProof(BaseModel):
    """RFC 9162 2.1.3: the path from one leaf to the root of a tree size; hashes in base64."""

    leaf_index: int = Field(description="The event's rank in the log (0 is the first event).")
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ leaf bytes), base64 (docs/audit.md).")
    root: str = Field(description="The root of the tree of `tree_size` leaves, base64.")
    path: list[str] = Field(description="Sibling hashes, deepest first, base64.")


class ConsistencyProof(BaseModel):
    """RFC 9162 2.1.4: the tree of `new_size` leaves extends the tree of `old_size`."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str] = Field(description="In the order RFC 9162 builds it, base64.")


class KeptCheckpoint(BaseModel):
    tree_size: int
    root: str = Field(description="Base64.")
    position: int = Field(description="The last log position in the tree.")
    signed_at: str
    note: str = Field(description="The C2SP signed note, as published.")


class KeptCheckpoints(BaseModel):
    checkpoints: list[KeptCheckpoint]


class VerifierKey(BaseModel):
    origin: str = Field(description="The checkpoints' origin line, also the key's name.")
    verifier_key: str = Field(
        description="Signed-note verifier key: `<name>+<key id>+<base64(0x01 ‖ Ed25519 key)>`."
    )


# --- the dashboard's data (`/v1/dashboard`): counts and rupiah only, no participant ------


class DashboardPlace(BaseModel):
    region: str = Field(description="A region code; '' for the nation.")
    name: str


class DashboardTarget(BaseModel):
    target: int = Field(description="The national target of active participants.")
    nation_active: int
    progress: float = Field(description="nation_active / target.")
    region_active: int
    region_share: float = Field(description="region_active / nation_active.")


class DashboardMonth(BaseModel):
    period: str = Field(examples=["2025-06"])
    active: int
    by_programme: dict[str, int] = Field(description="Active per programme: JKK, JKM, JHT.")
    joined: int
    lapsed: int
    reinstated: int


class DashboardChild(BaseModel):
    region: str
    name: str | None
    active: int
    previous: int = Field(description="Active the month before.")
    change: int


class DashboardActivity(BaseModel):
    enrollments: int
    contributions: int
    contribution_amount: int = Field(description="Whole rupiah.")


class DashboardChannel(DashboardActivity):
    channel: str


class DashboardAgent(DashboardActivity):
    agent_id: str


class DashboardFigures(BaseModel):
    """Every figure the dashboard shows for a month and region, the log position they
    reflect, the log's head when asked and the lag between them."""

    period: str
    region: str
    region_name: str
    level: str = Field(examples=["nation", "province", "regency", "district", "village"])
    child_level: str | None
    trail: list[DashboardPlace]
    position: int
    head: int
    lag: int
    target: DashboardTarget
    months: list[DashboardMonth]
    children: list[DashboardChild]
    channels: list[DashboardChannel]
    agents: list[DashboardAgent]
