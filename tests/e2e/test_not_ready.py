"""While the read models are behind, a read that needs a recent write answers 503 with
Retry-After, and /readyz says not ready. In process, with the follower held back."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from api.http import create_app
from infra.api_keys import ApiKeyStore, Role
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER
from tests.e2e.test_story import person


def test_reads_behind_a_write_answer_503_with_retry_after(tmp_path: Path) -> None:
    keys = ApiKeyStore(tmp_path / "keys.json")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        var_dir=tmp_path / "var",
        nik_pepper=TEST_PEPPER,
        master_key=TEST_MASTER_KEY,
        api_keys_file=tmp_path / "keys.json",
        api_ready_lag=0,
    )
    registrar = {"Authorization": f"Bearer {keys.add(Role.REGISTRAR)[0]}"}
    auditor = {"Authorization": f"Bearer {keys.add(Role.AUDITOR)[0]}"}
    with TestClient(create_app(settings, follow=False)) as client:
        assert client.get("/readyz").status_code == 200
        written = client.post("/v1/participants", json=person(), headers=registrar).json()
        behind = client.get(
            "/v1/coverage", params={"min_position": written["position"]}, headers=auditor
        )
        assert behind.status_code == 503
        assert behind.headers["retry-after"] == "1"
        assert behind.headers["content-type"] == "application/problem+json"
        assert behind.json()["code"] == "projections_behind"
        # Status can still be answered, from the events.
        status = client.get(
            f"/v1/participants/{written['participant_id']}",
            params={"min_position": written["position"]},
            headers=auditor,
        )
        assert (status.status_code, status.json()["source"]) == (200, "events")
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()["code"]) == (503, "projections_behind")
