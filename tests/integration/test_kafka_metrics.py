"""Kafka's lag on the HTTP API's /metrics: with the session's real broker, the reporting
group's lag appears and falls to 0 once a member caught up; without Kafka configured the
gauges are absent; with a broker that is away, /metrics still answers quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from api.http import create_app
from api.services import streaming
from infra.bootstrap import build_system
from infra.services.kafka import free_port
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER
from tests.integration.conftest import Kafka
from tests.integration.test_kafka import seed, with_kafka

pytestmark = pytest.mark.integration


def plain(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        var_dir=tmp_path / "var",
        nik_pepper=TEST_PEPPER,
        master_key=TEST_MASTER_KEY,
        api_keys_file=tmp_path / "keys.json",
    )


def samples(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def eventually(probe: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


def test_the_groups_lag_appears_and_falls_to_zero_once_it_caught_up(
    tmp_path: Path, kafka: Kafka
) -> None:
    settings = with_kafka(plain(tmp_path), kafka, partitions=3)
    with build_system(settings, decrypt=False) as system:
        seed(system.ledger, participants=15, months=4, number=41)
        relayed = streaming.relay(system, once=True)
        assert relayed.sent_now > 0
    with TestClient(create_app(settings, follow=False)) as client:
        # (A fresh broker makes its group coordinator on first demand: allow it a moment.)
        assert eventually(lambda: samples(client).get("ledger_kafka_up") == [({}, 1.0)], 15)
        now = samples(client)
        topic = {"topic": settings.kafka_topic}
        assert now["ledger_kafka_relay_lag"] == [(topic, 0.0)]
        assert now["ledger_kafka_relay_position"] == [(topic, float(relayed.head))]
        # No member has read anything: the lag is every message, on every partition.
        lags = {labels["partition"]: value for labels, value in now["ledger_kafka_consumer_lag"]}
        assert set(lags) == {"0", "1", "2"}
        assert sum(lags.values()) == relayed.sent_now
        assert all(
            labels["group"] == settings.kafka_group
            for labels, _ in now["ledger_kafka_consumer_lag"]
        )
        ends = sum(value for _, value in now["ledger_kafka_topic_end_offset"])
        assert ends == relayed.sent_now

        # A member of the group reads it all; its commits reach the broker.
        with build_system(settings, decrypt=False) as member:
            applied = streaming.consume(member, exit_when_idle=2.0)
        assert applied.applied_now == relayed.sent_now

        def caught_up() -> bool:
            seen = samples(client)
            return sum(v for _, v in seen.get("ledger_kafka_consumer_lag", [])) == 0 and sum(
                v for _, v in seen.get("ledger_kafka_consumer_committed_offset", [])
            ) == float(relayed.sent_now)

        assert eventually(caught_up), samples(client)


def test_without_kafka_metrics_has_no_kafka_gauges(tmp_path: Path) -> None:
    with TestClient(create_app(plain(tmp_path), follow=False)) as client:
        started = time.monotonic()
        text = client.get("/metrics").text
        assert time.monotonic() - started < 2.0
    assert "ledger_projection_lag" in text
    assert "ledger_kafka" not in text


def test_a_broker_that_is_away_does_not_hold_up_metrics(tmp_path: Path) -> None:
    away = plain(tmp_path).model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    with TestClient(create_app(away, follow=False)) as client:
        started = time.monotonic()
        first = samples(client)
        assert time.monotonic() - started < 4.0  # at most the bounded wait, not a timeout
        assert "ledger_projection_lag" in first
        assert eventually(lambda: samples(client).get("ledger_kafka_up") == [({}, 0.0)], 10)
        again = time.monotonic()
        later = samples(client)  # a cached reading: no new wait on the broker
        assert time.monotonic() - again < 1.0
        assert "ledger_kafka_consumer_lag" not in later
        assert later["ledger_kafka_relay_lag"][0][1] == 0.0  # the store answers, no broker
