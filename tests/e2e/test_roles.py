"""The whole role matrix against the real server: every role (and no key, and a revoked
key) against every route. The expectations are written out here, not read from the
app's policy table, so that a change to the policy shows up as a failing test."""

from __future__ import annotations

import time
import uuid

import pytest

from infra.api_keys import Role
from tests.e2e.conftest import Server

# O: the claims officer, as in api/http/auth.py
R, C, O, A, P, D = ("registrar", "collector", "claims_officer", "auditor", "reporter", "admin")  # noqa: E741
NOBODY = str(uuid.UUID(int=1))  # no participant has this id: allowed calls end in 404
CLAIM = str(uuid.UUID(int=2))
PID = f"/v1/participants/{NOBODY}"
SIZE = 987654321  # no checkpoint has this tree size: allowed calls end in 404
ENROLLMENT = {
    "nik": "3276014708950001",
    "name": "X",
    "birth_date": "1995-08-07",
    "sex": "F",
    "village_code": "32.76.01.9999",
    "occupation": "vendor",
    "declared_income": 1,
    "programmes": ["JKK", "JKM"],
    "channel": "online",
}

# method, path, body, roles allowed
ROUTES: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("POST", "/v1/participants", ENROLLMENT, {R, D}),
    ("GET", "/v1/participants?nik=3276014708950001", None, {R, C, O, A, D}),
    ("GET", PID, None, {R, C, O, A, D}),
    ("GET", f"{PID}/status?as_of=2025-01-01", None, {R, C, O, A, D}),
    ("GET", f"{PID}/history", None, {R, O, A, D}),
    ("POST", f"{PID}/contributions", {"payment_ref": "X", "amount": 16800}, {C, D}),
    ("POST", f"{PID}/erasure", None, {D}),
    ("POST", f"{PID}/income", {"declared_income": 2_000_000, "from_month": "2025-01"}, {R, D}),
    ("POST", f"{PID}/programmes", {"programmes": ["JKK", "JKM"], "from_month": "2025-01"}, {R, D}),
    ("POST", f"{PID}/corrections", {"occupation": "farmer"}, {R, D}),
    ("POST", f"{PID}/death", {"died_on": "2025-01-01"}, {R, D}),
    ("POST", f"{PID}/withdrawal", {}, {R, D}),
    (
        "POST",
        f"{PID}/claims",
        {"programme": "JKK", "kind": "medical", "incident_date": "2025-01-01"},
        {O, D},
    ),
    ("POST", f"{PID}/claims/{CLAIM}/approval", {}, {O, D}),
    ("POST", f"{PID}/claims/{CLAIM}/rejection", {"reason": "no"}, {O, D}),
    ("POST", f"{PID}/claims/{CLAIM}/payment", {}, {O, D}),
    (
        "POST",
        "/v1/batches",
        {"commands": [{"command_id": NOBODY, "kind": "contribution"}]},
        {R, C, D},
    ),
    ("GET", "/v1/coverage?level=province", None, {A, P, D}),
    ("GET", "/v1/coverage/series?from=2025-01&to=2025-03", None, {A, P, D}),
    ("GET", "/v1/coverage/target", None, {A, P, D}),
    ("GET", "/v1/events?after=0&limit=5", None, {A, D}),
    ("GET", "/v1/audit/proofs/inclusion?position=1", None, {A, D}),
    ("GET", "/v1/audit/proofs/consistency?old_size=1&new_size=1", None, {A, D}),
    ("GET", "/v1/audit/checkpoint", None, {A, D}),
    ("GET", "/v1/audit/checkpoints", None, {A, D}),
    ("GET", f"/v1/audit/checkpoints/{SIZE}", None, {A, D}),
    ("GET", "/v1/audit/key", None, {A, D}),
    ("GET", "/v1/dashboard?period=2025-01", None, {A, P, D}),
    ("GET", "/v1/dashboard/target.csv", None, {A, P, D}),
]
OPEN = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    ROUTES,
    ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ROUTES],
)
def test_every_role_against_the_route(
    server: Server, method: str, path: str, body: dict[str, object] | None, allowed: set[str]
) -> None:
    answers = {}
    for role in Role:
        answer = server.client(role).request(method, path, json=body)
        answers[role.value] = answer.status_code
        if role.value in allowed:
            assert answer.status_code not in (401, 403), (role, answer.text)
            assert answer.status_code < 500, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "forbidden"
    missing = server.client(None).request(method, path, json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["code"] == "unauthorized"
    unknown = server.client(None).request(
        method, path, json=body, headers={"Authorization": "Bearer lk_not-a-key"}
    )
    assert unknown.status_code == 401


def test_the_matrix_covers_every_route_the_api_documents(server: Server) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in server.client(None).get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    tested = {
        (
            m,
            p.split("?")[0]
            .replace(NOBODY, "{participant_id}")
            .replace(CLAIM, "{claim_id}")
            .replace(str(SIZE), "{tree_size}")
            .replace("/target.csv", "/{chart}.csv"),
        )
        for m, p, _, _ in ROUTES
    }
    tested |= {("GET", p) for p in OPEN if p not in ("/openapi.json", "/docs")}
    assert documented == tested


def test_open_routes_need_no_key(server: Server) -> None:
    for path in OPEN:
        assert server.client(None).get(path).status_code == 200, path


def test_a_new_key_works_and_a_revoked_one_stops_within_seconds(server: Server) -> None:
    made = server.ledger("api-keys", "add", "reporter", "--label", "short-lived")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("lk_") and "\n" not in key  # the key alone on stdout
    headers = {"Authorization": f"Bearer {key}"}
    client = server.client(None)
    assert _eventually(lambda: client.get("/v1/coverage/target", headers=headers).status_code, 200)
    key_id = next(
        line.split()[1]
        for line in server.ledger("api-keys", "list").stdout.splitlines()
        if "short-lived" in line
    )
    revoked = server.ledger("api-keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert _eventually(lambda: client.get("/v1/coverage/target", headers=headers).status_code, 401)
    assert key not in server.key_file.read_text()


def _eventually(probe, expected: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe() == expected:
            return True
        time.sleep(0.1)
    return False


def test_metrics_show_routes_commands_and_projections(server: Server) -> None:
    from tests.e2e.test_story import person

    refused = server.client(Role.REGISTRAR).post("/v1/participants", json=person(nik="12"))
    assert refused.json()["code"] == "invalid_nik"  # counted under its code
    server.client(Role.COLLECTOR).get(f"{PID}/status")
    text = server.client(None).get("/metrics").text
    assert (
        'ledger_http_request_duration_seconds_bucket{le="0.005",method="GET",'
        'route="/healthz",status="200"}' in text
    )
    assert 'route="/v1/participants/{participant_id}/status"' in text  # a template, no id
    assert NOBODY not in text
    assert 'ledger_commands_total{kind="enroll",outcome="invalid_nik"}' in text
    assert 'ledger_projection_lag{projection="participant_status"}' in text
    assert 'ledger_projection_position{projection="coverage"}' in text
