"""Fixtures for integration tests: `kafka`, one real Apache Kafka broker per test session.

The broker is the one `ledger services start kafka` runs (`infra.services.kafka`): jars
from Maven Central (cached under ~/.cache/enrollment-ledger), KRaft single node, on free
ports of 127.0.0.1, its data in a temporary directory; stopped at the end of the session.
Tests isolate themselves by topic and group names, not by brokers.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.services.kafka import KafkaBroker, ServiceError, free_port
from tests.conftest import IN_CI


@dataclass
class Kafka:
    """The session's broker, and fresh names for a test's topic and group."""

    broker: KafkaBroker

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def names(self) -> tuple[str, str]:
        suffix = uuid.uuid4().hex[:10]
        return f"test.events.{suffix}", f"test-group-{suffix}"


@pytest.fixture(scope="session")
def kafka() -> Iterator[Kafka]:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        message = "Java and Maven are needed to run Apache Kafka (apt-get install maven)"
        if IN_CI:
            pytest.fail(message + " — integration tests may not be skipped in CI")
        pytest.skip(message)
    home = Path(tempfile.mkdtemp(prefix="ledger-kafka-"))
    broker = KafkaBroker(home, port=free_port(), controller_port=free_port(), die_with_parent=True)
    try:
        broker.start()
    except ServiceError as error:
        broker.stop()
        pytest.fail(f"the Kafka broker did not start: {error}")
    yield Kafka(broker)
    broker.stop()
    shutil.rmtree(home, ignore_errors=True)
