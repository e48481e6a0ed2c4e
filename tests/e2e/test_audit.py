"""An auditor holds the operator to its checkpoints over HTTP, on the real server: the
proofs the API serves are checked by the RFC 9162 verifier of the tests (not the code that
built them) against roots taken from signed checkpoints, the signatures by a signed-note
reader of the tests. Other roles are refused; bad requests are 4xx problems with codes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from infra.api_keys import Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import person
from tests.rfc9162 import verify_consistency, verify_inclusion
from tests.signed_note import Signed, open_checkpoint

AUDIT_ROUTES = [
    "/v1/audit/proofs/inclusion?position=1",
    "/v1/audit/proofs/consistency?old_size=1&new_size=1",
    "/v1/audit/checkpoint",
    "/v1/audit/checkpoints",
    "/v1/audit/checkpoints/1",
    "/v1/audit/key",
]


def b(text: str) -> bytes:
    return base64.b64decode(text)


def enroll_some(server: Server, count: int) -> list[int]:
    registrar = server.client(Role.REGISTRAR)
    answers = [registrar.post("/v1/participants", json=person()) for _ in range(count)]
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    return [int(a.json()["position"]) for a in answers]


def sign_checkpoint(server: Server, key: str) -> Signed:
    """The operator signs a checkpoint now (`ledger audit checkpoint`, on the same store);
    the auditor fetches it over HTTP and checks its signature."""
    made = server.ledger("audit", "checkpoint")
    assert made.returncode == 0, made.stderr
    served = server.client(Role.AUDITOR).get("/v1/audit/checkpoint")
    assert served.status_code == 200, served.text
    assert served.headers["content-type"].startswith("text/plain")
    assert served.text == made.stdout  # the very note the operator published
    signed = open_checkpoint(served.text, key)
    assert signed is not None, served.text
    return signed


def test_an_auditor_proves_events_against_kept_checkpoints(server: Server) -> None:
    auditor = server.client(Role.AUDITOR)
    key = auditor.get("/v1/audit/key")
    assert key.status_code == 200, key.text
    assert key.json()["verifier_key"] == server.ledger("audit", "key").stdout.strip()
    verifier_key = key.json()["verifier_key"]

    positions = enroll_some(server, 4)
    first = sign_checkpoint(server, verifier_key)
    assert first.origin == key.json()["origin"]

    # Inclusion: by default in the latest checkpoint's tree; checked against its root.
    proof = auditor.get("/v1/audit/proofs/inclusion", params={"position": positions[1]})
    assert proof.status_code == 200, proof.text
    body = proof.json()
    assert set(body) == {"leaf_index", "tree_size", "leaf_hash", "root", "path"}
    assert body["tree_size"] == first.tree_size
    assert verify_inclusion(
        body["leaf_index"],
        first.tree_size,
        b(body["leaf_hash"]),
        [b(p) for p in body["path"]],
        first.root,
    )
    # The same answer as the command line's --json.
    cli = server.ledger("audit", "prove", "--position", str(positions[1]), "--json")
    assert cli.returncode == 0 and proof.json() == json.loads(cli.stdout)

    # The log grows; a second checkpoint must extend the first.
    later = enroll_some(server, 3)
    second = sign_checkpoint(server, verifier_key)
    assert second.tree_size > first.tree_size
    consistency = auditor.get(
        "/v1/audit/proofs/consistency",
        params={"old_size": first.tree_size, "new_size": second.tree_size},
    )
    assert consistency.status_code == 200, consistency.text
    c = consistency.json()
    assert set(c) == {"old_size", "new_size", "old_root", "new_root", "path"}
    assert verify_consistency(
        first.tree_size, second.tree_size, first.root, second.root, [b(p) for p in c["path"]]
    )
    # An old event proved in the first checkpoint's tree, a new one in the second's.
    old = auditor.get(
        "/v1/audit/proofs/inclusion",
        params={"position": positions[0], "checkpoint": first.tree_size},
    ).json()
    assert verify_inclusion(
        old["leaf_index"],
        first.tree_size,
        b(old["leaf_hash"]),
        [b(p) for p in old["path"]],
        first.root,
    )
    new = auditor.get("/v1/audit/proofs/inclusion", params={"position": later[-1]}).json()
    assert new["tree_size"] == second.tree_size
    assert verify_inclusion(
        new["leaf_index"],
        second.tree_size,
        b(new["leaf_hash"]),
        [b(p) for p in new["path"]],
        second.root,
    )
    # A proof against the wrong kept root fails: the verifier is not a rubber stamp.
    assert not verify_inclusion(
        old["leaf_index"],
        first.tree_size,
        b(old["leaf_hash"]),
        [b(p) for p in old["path"]],
        second.root,
    )

    # The kept checkpoints, as a list and one by one, each signed.
    kept = auditor.get("/v1/audit/checkpoints").json()["checkpoints"]
    sizes = [k["tree_size"] for k in kept]
    assert {first.tree_size, second.tree_size} <= set(sizes) and sizes == sorted(sizes)
    for row in kept:
        note = auditor.get(f"/v1/audit/checkpoints/{row['tree_size']}")
        assert note.status_code == 200 and note.text == row["note"]
        signed = open_checkpoint(note.text, verifier_key)
        assert signed is not None and (signed.tree_size, signed.root) == (
            row["tree_size"],
            b(row["root"]),
        )

    # Recorded time, as --recorded-at: the tree as it stood then.
    now = datetime.now(UTC).isoformat()
    at_now = auditor.get(
        "/v1/audit/proofs/inclusion", params={"position": positions[0], "recorded_at": now}
    )
    assert at_now.status_code == 200, at_now.text
    assert at_now.json()["tree_size"] >= second.tree_size
    before = auditor.get(
        "/v1/audit/proofs/inclusion", params={"position": positions[0], "recorded_at": "2001-01-01"}
    )
    assert (before.status_code, before.json()["code"]) == (404, "position_not_sealed")


@pytest.mark.parametrize("path", AUDIT_ROUTES)
def test_other_roles_are_refused(server: Server, path: str) -> None:
    for role in (Role.REGISTRAR, Role.COLLECTOR, Role.CLAIMS_OFFICER, Role.REPORTER):
        refused = server.client(role).get(path)
        assert refused.status_code == 403, (role, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "forbidden"
    assert server.client(None).get(path).status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/audit/proofs/inclusion", {"position": 0}, 422, "validation_error"),
        ("/v1/audit/proofs/inclusion", {"position": "x"}, 422, "validation_error"),
        ("/v1/audit/proofs/inclusion", {}, 422, "validation_error"),
        ("/v1/audit/proofs/inclusion", {"position": 10**12}, 404, "position_not_sealed"),
        (
            "/v1/audit/proofs/inclusion",
            {"position": 1, "checkpoint": 10**12},
            404,
            "size_not_sealed",
        ),
        (
            "/v1/audit/proofs/inclusion",
            {"position": 1, "checkpoint": 1, "recorded_at": "2025-01-01"},
            422,
            "checkpoint_or_time",
        ),
        (
            "/v1/audit/proofs/inclusion",
            {"position": 1, "recorded_at": "yesterday"},
            422,
            "invalid_timestamp",
        ),
        ("/v1/audit/proofs/inclusion", {"position": 1, "size": 3}, 422, "unknown_parameter"),
        ("/v1/audit/proofs/consistency", {"old_size": 0, "new_size": 1}, 422, "validation_error"),
        ("/v1/audit/proofs/consistency", {"old_size": 2, "new_size": 1}, 422, "invalid_sizes"),
        (
            "/v1/audit/proofs/consistency",
            {"old_size": 1, "new_size": 10**12},
            404,
            "size_not_sealed",
        ),
        ("/v1/audit/checkpoints/0", {}, 422, "validation_error"),
        ("/v1/audit/checkpoints/abc", {}, 422, "validation_error"),
        ("/v1/audit/checkpoints/999999999", {}, 404, "no_checkpoint"),
    ],
)
def test_bad_requests_are_4xx_with_a_code(
    server: Server, path: str, params: dict[str, int | str], status: int, code: str
) -> None:
    enroll_some(server, 1)  # the log is not empty, whatever ran before
    answer = server.client(Role.AUDITOR).get(path, params=params)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
