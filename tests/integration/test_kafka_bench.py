"""The Kafka benchmark runs end to end on a tiny population (against the session's broker)."""

from __future__ import annotations

import pytest

from api.services import kafka_bench
from tests.integration.conftest import Kafka

pytestmark = pytest.mark.integration


def test_the_kafka_benchmark_measures_each_side_in_one_run(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_KAFKA_BOOTSTRAP", kafka.bootstrap)  # no broker of its own
    result = kafka_bench.run(participants=40, months=3, repeats=1, partitions=3)
    assert result["events"] > 40
    for key in (
        "relay_per_s",
        "bare_producer_per_s",
        "bare_consumer_per_s",
        "group_1_per_s",
        "group_2_per_s",
    ):
        assert result[key] > 0, key
    assert result["relay_ratio"] == result["relay_per_s"] / result["bare_producer_per_s"]
    text = kafka_bench.report(result)
    assert "| relay (`Relay.catch_up`) |" in text and "840,000,000 / (12 x" in text
