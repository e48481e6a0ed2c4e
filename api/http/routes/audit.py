"""The verifiable log for auditors: proofs, kept checkpoints and the verifier key.

Thin: each route calls one use case of `api.services.audit`, the one `ledger audit prove`,
`consistency`, `checkpoint` and `key` call, and answers the same JSON (hashes in base64).
A client must check a proof against a root it kept from a signed checkpoint, never only
against the root served with it (docs/audit.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from api.http.auth import allowed
from api.http.responses import OrjsonResponse
from api.http.schemas import (
    ConsistencyProof,
    InclusionProof,
    KeptCheckpoints,
    VerifierKey,
    problems,
)
from api.http.state import SystemDep
from api.services import audit
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[ApiKey, Depends(allowed("read_audit"))]
NOTE_TYPE = "text/plain; charset=utf-8"
NOTE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {NOTE_TYPE: {"schema": {"type": "string"}}},
        "description": "A C2SP tlog-checkpoint signed note.",
    },
    **problems(401, 403, 404, 422),
}
Size = Annotated[int, Query(ge=1, le=2**62, description="A tree size (a checkpoint's).")]


@router.get(
    "/proofs/inclusion", response_model=InclusionProof, responses=problems(401, 403, 404, 422)
)
def inclusion(
    system: SystemDep,
    _: Auditor,
    position: Annotated[int, Query(ge=1, le=2**62, description="The event's log position.")],
    checkpoint: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="Prove in the tree of this size (a checkpoint's)."),
    ] = None,
    recorded_at: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Prove in the tree as it stood at the last position recorded by then "
            "(ISO timestamp, UTC unless it says; a date means its end), as `--recorded-at`.",
        ),
    ] = None,
) -> OrjsonResponse:
    """The inclusion proof of one event (RFC 9162 2.1.3); by default in the latest
    checkpoint's tree if it holds the event, else in the tree sealed to the head."""
    answer = audit.prove(
        system, position=position, checkpoint_size=checkpoint, recorded_at=recorded_at
    )
    return OrjsonResponse(answer.as_dict())


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProof,
    responses=problems(401, 403, 404, 422),
)
def consistency(system: SystemDep, _: Auditor, old_size: Size, new_size: Size) -> OrjsonResponse:
    """The consistency proof between two tree sizes (RFC 9162 2.1.4)."""
    answer = audit.consistency(system, old_size=old_size, new_size=new_size)
    return OrjsonResponse(answer.as_dict())


@router.get("/checkpoint", response_class=Response, responses=NOTE)
def latest_checkpoint(system: SystemDep, _: Auditor) -> Response:
    """The latest signed checkpoint, as its signed note (signs nothing new)."""
    return Response(audit.kept_checkpoint(system).note, media_type=NOTE_TYPE)


@router.get("/checkpoints", response_model=KeptCheckpoints, responses=problems(401, 403, 422))
def checkpoints(system: SystemDep, _: Auditor) -> OrjsonResponse:
    """Every checkpoint kept, oldest first (the files `ledger audit` publishes)."""
    return OrjsonResponse({"checkpoints": [c.as_dict() for c in audit.kept_checkpoints(system)]})


@router.get("/checkpoints/{tree_size}", response_class=Response, responses=NOTE)
def checkpoint_of_size(
    system: SystemDep,
    _: Auditor,
    tree_size: Annotated[int, Path(ge=1, le=2**62, description="The checkpoint's tree size.")],
) -> Response:
    """The checkpoint signed for this tree size, as its signed note."""
    return Response(audit.kept_checkpoint(system, tree_size).note, media_type=NOTE_TYPE)


@router.get("/key", response_model=VerifierKey, responses=problems(401, 403, 422))
def key(system: SystemDep, _: Auditor) -> OrjsonResponse:
    """The verifier key that checks the checkpoints (as `ledger audit key` prints it)."""
    answer = audit.verifier_key(system)
    return OrjsonResponse({"origin": answer.origin, "verifier_key": answer.verifier_key})
