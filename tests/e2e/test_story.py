"""A worker's story told through the HTTP API of a real server: enrolled by a registrar,
paying through a collector, covered as of one day and not another, a work accident
claimed and decided, the history read by an auditor (masked) and refused to a reporter,
and finally erased by an admin. Then: bad input is a problem document, never a 5xx."""

from __future__ import annotations

from typing import Any

from infra.api_keys import Role
from tests.e2e.conftest import Server
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment


def person(**overrides: Any) -> dict[str, Any]:
    row = enrollment(**overrides)
    row["programmes"] = row["programmes"].split("+")
    return row


def test_a_workers_story(server: Server) -> None:
    registrar, collector = server.client(Role.REGISTRAR), server.client(Role.COLLECTOR)
    officer, auditor = server.client(Role.CLAIMS_OFFICER), server.client(Role.AUDITOR)
    reporter, admin = server.client(Role.REPORTER), server.client(Role.ADMIN)
    worker = person(enrolled_on="2025-01-06", name="Dewi Lestari")

    # Enrolled: 201 with the id and the log position; the same enrollment again is a 200.
    enrolled = registrar.post("/v1/participants", json=worker)
    assert enrolled.status_code == 201, enrolled.text
    pid, position = enrolled.json()["participant_id"], enrolled.json()["position"]
    assert position >= 1
    again = registrar.post("/v1/participants", json=worker)
    assert (again.status_code, again.json()["participant_id"]) == (200, pid)
    assert again.json()["replayed"] is True

    # Three months paid on 8 January; the payment reference makes a resend harmless.
    payment = {
        "payment_ref": "BNI-E2E-1",
        "amount": 3 * MONTHLY_JKK_JKM_1_5M,
        "paid_on": "2025-01-08",
        "channel": "bank",
    }
    paid = collector.post(f"/v1/participants/{pid}/contributions", json=payment)
    assert paid.status_code == 201, paid.text
    assert (paid.json()["first_month"], paid.json()["last_month"]) == ("2025-01", "2025-03")
    resent = collector.post(f"/v1/participants/{pid}/contributions", json=payment)
    assert (resent.status_code, resent.json()["replayed"]) == (200, True)

    # Status as of two days: covered in February, in grace by May.
    february = collector.get(f"/v1/participants/{pid}/status", params={"as_of": "2025-02-20"})
    assert february.status_code == 200
    assert february.json()["status"] == "active"
    assert february.json()["paid_through"] == "2025-03"
    assert february.json()["source"] == "events"
    may = collector.get(f"/v1/participants/{pid}/status", params={"as_of": "2025-05-02"})
    assert (may.json()["status"], may.json()["arrears_months"]) == ("grace", 2)
    # Today, once the read model has the payment: answered from the read model.
    today = collector.get(
        f"/v1/participants/{pid}", params={"min_position": paid.json()["position"]}
    )
    assert today.status_code == 200, today.text
    assert today.json()["source"] == "read_model"
    assert today.json()["position"] >= paid.json()["position"]
    assert today.json()["paid_through"] == "2025-03"
    # Looked up by NIK, a query parameter.
    found = registrar.get("/v1/participants", params={"nik": worker["nik"]})
    assert found.json()["participant_id"] == pid

    # A work accident in February: filed, approved with the assessed amount, paid.
    filed = officer.post(
        f"/v1/participants/{pid}/claims",
        json={
            "programme": "JKK",
            "kind": "medical",
            "incident_date": "2025-02-10",
            "filed_on": "2025-02-11",
            "work_related": True,
            "description": "cut by a sickle",
        },
    )
    assert filed.status_code == 201, filed.text
    claim = filed.json()["claim_id"]
    approved = officer.post(
        f"/v1/participants/{pid}/claims/{claim}/approval",
        json={"approved_on": "2025-02-15", "amount": 2_500_000},
    )
    assert (approved.status_code, approved.json()["amount"]) == (201, 2_500_000)
    settled = officer.post(
        f"/v1/participants/{pid}/claims/{claim}/payment", json={"paid_on": "2025-02-20"}
    )
    assert settled.status_code == 201, settled.text

    # History: an auditor reads it masked; a reporter never sees a participant.
    history = auditor.get(f"/v1/participants/{pid}/history")
    assert history.status_code == 200
    types = [e["type"] for e in history.json()["events"]]
    assert types == ["Enrolled", "ContributionPaid", "ClaimFiled", "ClaimApproved", "ClaimPaid"]
    assert worker["nik"] not in history.text and "Dewi" not in history.text
    revealed = auditor.get(f"/v1/participants/{pid}/history", params={"reveal": "true"})
    assert worker["nik"] in revealed.text
    refused = reporter.get(f"/v1/participants/{pid}/history")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")

    # Erased by an admin: the record stays, the personal data and the NIK lookup go.
    erased = admin.post(f"/v1/participants/{pid}/erasure")
    assert erased.status_code == 200, erased.text
    after = admin.get(f"/v1/participants/{pid}/history", params={"reveal": "true"})
    assert worker["nik"] not in after.text and "(erased)" in after.text
    assert (
        admin.get(f"/v1/participants/{pid}/status", params={"as_of": "2025-02-20"}).json()["status"]
        == "active"
    )
    gone = registrar.get("/v1/participants", params={"nik": worker["nik"]})
    assert (gone.status_code, gone.json()["code"]) == (404, "participant_not_found")


def test_read_your_writes(server: Server) -> None:
    """A read given a write's position answers once the read models have it; a position
    no write has reached is refused at once. (The 503 with Retry-After, for read models
    that stay behind, is tested in process, where the follower can be held back.)"""
    auditor = server.client(Role.AUDITOR)
    worker = person()
    written = server.client(Role.REGISTRAR).post("/v1/participants", json=worker).json()
    after = auditor.get("/v1/coverage", params={"min_position": written["position"]})
    assert after.status_code == 200
    assert after.json()["position"] >= written["position"]
    on_day = auditor.get("/v1/coverage", params={"as_of": "2025-01-31", "level": "province"})
    assert on_day.status_code == 200 and on_day.json()["as_of"] == "2025-01-31"
    assert on_day.json()["recorded_at"] is None
    recorded = auditor.get(
        "/v1/coverage", params={"recorded_at": "2025-01-31", "level": "province"}
    )
    assert recorded.status_code == 200 and recorded.json()["recorded_at"].startswith("2025-01-31")
    assert recorded.json()["as_of"] is None
    beyond = auditor.get("/v1/coverage", params={"min_position": 10**12})
    assert (beyond.status_code, beyond.json()["code"]) == (422, "position_beyond_log")


def test_bad_input_is_a_problem_document_naming_the_field(server: Server) -> None:
    registrar = server.client(Role.REGISTRAR)
    bad_nik = registrar.post("/v1/participants", json=person(nik="12345"))
    assert (bad_nik.status_code, bad_nik.json()["code"]) == (422, "invalid_nik")
    assert bad_nik.headers["content-type"] == "application/problem+json"
    missing = registrar.post(
        "/v1/participants", json={k: v for k, v in person().items() if k != "village_code"}
    )
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["village_code"]
    wrong_type = registrar.post("/v1/participants", json=person(declared_income="lots"))
    assert wrong_type.json()["errors"][0]["field"] == "declared_income"
    not_json = registrar.post(
        "/v1/participants", content=b"{nik:", headers={"Content-Type": "application/json"}
    )
    assert (not_json.status_code, not_json.json()["code"]) == (400, "malformed_body")
    unknown = registrar.get("/v1/participants/not-a-uuid")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "participant_id"
    assert registrar.get("/v1/nothing-here").status_code == 404
    wrong_method = registrar.delete("/v1/participants")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    first = person()
    assert registrar.post("/v1/participants", json=first).status_code == 201
    other = registrar.post("/v1/participants", json={**first, "name": "Someone Else"})
    assert (other.status_code, other.json()["code"]) == (409, "already_enrolled")


def test_the_server_log_has_no_traceback_and_no_nik(server: Server) -> None:
    worker = person()
    server.client(Role.REGISTRAR).post("/v1/participants", json=worker)
    server.client(Role.AUDITOR).get("/v1/participants", params={"nik": worker["nik"]})
    log = server.log.read_text()
    assert "Traceback" not in log
    assert worker["nik"] not in log
    assert "/v1/participants/{participant_id}" in log or "/v1/participants" in log


def test_concurrent_changes_to_one_worker_are_accepted_or_conflicts_never_errors(
    server: Server,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    registrar = server.client(Role.REGISTRAR)
    pid = registrar.post("/v1/participants", json=person(enrolled_on="2025-01-06")).json()[
        "participant_id"
    ]

    def declare(month: int) -> int:
        return registrar.post(
            f"/v1/participants/{pid}/income",
            json={
                "declared_income": 2_000_000 + 100_000 * month,
                "from_month": f"2025-{month:02d}",
            },
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(declare, range(1, 13)))
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    history = server.client(Role.AUDITOR).get(f"/v1/participants/{pid}/history").json()
    assert sum(e["type"] == "IncomeDeclared" for e in history["events"]) == statuses.count(201)


def test_every_change_and_claim_decision_through_its_route(server: Server) -> None:
    """The routes made from the command tables (`api.http.command_routes`), each once:
    201 with the position, the event in the history, the command counted by its name."""
    registrar, officer = server.client(Role.REGISTRAR), server.client(Role.CLAIMS_OFFICER)
    collector, auditor = server.client(Role.COLLECTOR), server.client(Role.AUDITOR)
    positions = []

    def post(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(path, json=body)
        assert answer.status_code == 201, (path, answer.text)
        written: dict[str, Any] = answer.json()
        positions.append(written["position"])
        return written

    first, second = (post(registrar, "/v1/participants", person(enrolled_on="2025-01-06"))
                     for _ in range(2))  # fmt: skip
    pid, other = first["participant_id"], second["participant_id"]
    post(
        collector,
        f"/v1/participants/{pid}/contributions",
        {"payment_ref": "E2E-TABLE-1", "amount": 3 * MONTHLY_JKK_JKM_1_5M, "paid_on": "2025-01-08"},
    )
    at = f"/v1/participants/{pid}"
    post(registrar, f"{at}/income", {"declared_income": 2_000_000, "from_month": "2025-04"})
    post(
        registrar,
        f"{at}/programmes",
        {"programmes": ["JKK", "JKM", "JHT"], "from_month": "2025-04"},
    )
    post(registrar, f"{at}/corrections", {"phone": "081299990000", "corrected_on": "2025-02-01"})
    claim = post(
        officer,
        f"{at}/claims",
        {
            "programme": "JKK",
            "kind": "medical",
            "incident_date": "2025-02-10",
            "work_related": True,
        },
    )["claim_id"]
    post(officer, f"{at}/claims/{claim}/rejection", {"reason": "not at work"})
    post(registrar, f"{at}/death", {"died_on": "2025-03-01"})
    post(registrar, f"/v1/participants/{other}/withdrawal", {"withdrawn_on": "2025-02-01"})
    assert positions == sorted(positions) and len(set(positions)) == len(positions)

    history = auditor.get(f"{at}/history").json()["events"]
    assert [e["type"] for e in history] == [
        "Enrolled",
        "ContributionPaid",
        "IncomeDeclared",
        "ProgrammesChanged",
        "DetailsCorrected",
        "ClaimFiled",
        "ClaimRejected",
        "Died",
    ]
    # Refusals keep their codes: a second death, an unknown claim, a body naming no field.
    again = registrar.post(f"{at}/death", json={"died_on": "2025-03-02"})
    assert again.status_code in (409, 422) and again.json()["code"]
    missing = officer.post(f"{at}/claims/{'0' * 8}-0000-0000-0000-{'0' * 12}/payment", json={})
    assert (missing.status_code, missing.json()["code"]) == (404, "claim_not_found")
    empty = registrar.post(f"{at}/income", json={})
    assert empty.status_code == 422
    assert {e["field"] for e in empty.json()["errors"]} == {"declared_income", "from_month"}
    counted = server.client(None).get("/metrics").text
    for kind in ("declare_income", "change_programmes", "correct_details", "death", "withdrawal",
                 "file_claim", "reject_claim"):  # fmt: skip
        assert f'ledger_commands_total{{kind="{kind}",outcome="accepted"}}' in counted, kind
