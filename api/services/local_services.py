"""The local services a developer or CI runs: PostgreSQL and an Apache Kafka broker.

`ledger services start|stop|status kafka|postgres` calls these. The broker's files live
under `<LEDGER_VAR_DIR>/kafka` (its port remembered there, so `stop` and `status` find
it); the test fixtures run the same `KafkaBroker` on free ports in a temporary folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.services import postgres
from infra.services.kafka import KafkaBroker, ServiceError
from infra.settings import Settings

__all__ = ["ServiceAnswer", "ServiceError", "start", "status", "stop"]

SERVICES = ("kafka", "postgres")


@dataclass(frozen=True)
class ServiceAnswer:
    service: str
    running: bool
    detail: str  # where it runs, or why not


def local_broker(settings: Settings, port: int | None = None) -> KafkaBroker:
    home = (settings.var_dir / "kafka").resolve()
    remembered = home / "port"
    if port is None and remembered.exists():
        port = int(remembered.read_text())
    if port is None and settings.kafka_bootstrap:
        host, _, text = settings.kafka_bootstrap.split(",")[0].rpartition(":")
        port = int(text) if text.isdigit() and host in ("127.0.0.1", "localhost") else None
    return KafkaBroker(home, port=port or 9092)


def start(settings: Settings, service: str, port: int | None = None) -> ServiceAnswer:
    """Start on 127.0.0.1 and wait until it answers (`ServiceError` says why not)."""
    if service == "postgres":
        url = postgres.start(port or 5432)
        return ServiceAnswer(service, True, url)
    broker = local_broker(settings, port)
    broker.start()
    (broker.home / "port").write_text(str(broker.port))
    return ServiceAnswer(
        service,
        True,
        f"{broker.bootstrap} (files in {broker.home}); LEDGER_KAFKA_BOOTSTRAP={broker.bootstrap}",
    )


def stop(settings: Settings, service: str) -> ServiceAnswer:
    """Stop cleanly (SIGTERM; the broker keeps its topics, offsets and groups)."""
    if service == "postgres":
        was = postgres.stop()
        return ServiceAnswer(service, False, "stopped" if was else "was not running")
    broker = local_broker(settings)
    was = broker.stop()
    return ServiceAnswer(
        service, False, f"{broker.bootstrap} " + ("stopped" if was else "was not running")
    )


def status(settings: Settings, service: str) -> ServiceAnswer:
    if service == "postgres":
        state = postgres.status()
        return ServiceAnswer(service, "online" in state, state)
    broker = local_broker(settings)
    running = broker.running()
    return ServiceAnswer(
        service,
        running,
        f"{broker.bootstrap} " + (f"running (pid {broker.pid()})" if running else "not running"),
    )
