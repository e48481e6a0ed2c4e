"""`ledger services`, `ledger relay` and `ledger consume`: the Kafka side of the CLI.

Thin: each parses its options, builds what it needs through `infra.bootstrap`, calls one
thing (a broker's lifecycle, the relay, a reporting consumer) and says what happened.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from infra import kafka_client
from infra.bootstrap import (
    all_projections,
    build_ledger,
    build_reporting_store,
    build_view_store,
    close_ledger,
    event_mapper,
)
from infra.services import postgres
from infra.services.kafka import KafkaBroker, ServiceError
from infra.settings import Settings

services_app = typer.Typer(help="Start, stop and check the local PostgreSQL and Kafka broker.",
                           no_args_is_help=True)
out = Console()
err = Console(stderr=True)


class Service(str, Enum):
    kafka = "kafka"
    postgres = "postgres"


ServiceArgument = Annotated[Service, typer.Argument(help="kafka or postgres")]
PortOption = Annotated[int | None, typer.Option(
    help="Port on 127.0.0.1 (Kafka: default from LEDGER_KAFKA_BOOTSTRAP, else 9092; "
         "the controller takes the next one. PostgreSQL: 5432).")]


def local_broker(settings: Settings, port: int | None = None) -> KafkaBroker:
    """The broker `ledger services` manages: files under `<var>/kafka`, its port
    remembered there so `stop` and `status` find it."""
    home = (settings.var_dir / "kafka").resolve()
    remembered = home / "port"
    if port is None and remembered.exists():
        port = int(remembered.read_text())
    if port is None and settings.kafka_bootstrap:
        host, _, text = settings.kafka_bootstrap.split(",")[0].rpartition(":")
        port = int(text) if text.isdigit() and host in ("127.0.0.1", "localhost") else None
    return KafkaBroker(home, port=port or 9092)


def _fail(error: Exception, code: str = "service_failed") -> None:
    err.print(f"[red]error[/red] {escape(f'[{code}]')}: {escape(str(error))}", highlight=False)
    raise typer.Exit(1)


@services_app.command("start")
def services_start(service: ServiceArgument, port: PortOption = None) -> None:
    """Start a local service on 127.0.0.1 and wait until it answers."""
    settings = Settings()
    try:
        if service is Service.postgres:
            url = postgres.start(port or 5432)
            out.print(f"PostgreSQL running: {url}")
            return
        broker = local_broker(settings, port)
        broker.start()
        (broker.home / "port").write_text(str(broker.port))
    except ServiceError as error:
        _fail(error)
    out.print(f"Kafka {broker.bootstrap} running (files in {broker.home}); "
              f"export LEDGER_KAFKA_BOOTSTRAP={broker.bootstrap}")


@services_app.command("stop")
def services_stop(service: ServiceArgument) -> None:
    """Stop a local service cleanly (SIGTERM; topics and offsets are kept)."""
    if service is Service.postgres:
        out.print("PostgreSQL stopped" if postgres.stop() else "PostgreSQL was not running")
        return
    broker = local_broker(Settings())
    out.print(f"Kafka {broker.bootstrap} stopped" if broker.stop()
              else "Kafka was not running")


@services_app.command("status")
def services_status(service: ServiceArgument) -> None:
    """Whether a local service runs; exit status 1 if it does not."""
    if service is Service.postgres:
        state = postgres.status()
        out.print(f"PostgreSQL: {state}")
        raise typer.Exit(0 if "online" in state else 1)
    broker = local_broker(Settings())
    pid = broker.pid()
    running = broker.running()
    out.print(f"Kafka {broker.bootstrap}: " + (f"running (pid {pid})" if running else "not running"))
    raise typer.Exit(0 if running else 1)


@contextmanager
def _stop_on_sigterm() -> Iterator[list[bool]]:
    """A flag set by SIGTERM or SIGINT: the loops finish their batch and return."""
    flag = [False]

    def handler(_signum: int, _frame: Any) -> None:
        flag[0] = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def relay(
    once: Annotated[bool, typer.Option("--once", help="Publish up to the head, then exit.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show the published position and lag.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    page_size: Annotated[int, typer.Option(min=1, help="Events per acknowledged batch.")] = 5000,
) -> None:
    """Publish the log to Kafka from the last published position (follows it unless --once).

    Broker: LEDGER_KAFKA_BOOTSTRAP; topic: LEDGER_KAFKA_TOPIC (ledger.events)."""
    from consumers.relay import Relay

    settings = Settings()
    kafka_client.bootstrap(settings)  # a clear error before anything opens
    ledger = build_ledger(settings, decrypt=False)
    store = build_view_store(settings)
    try:
        worker = Relay(ledger, store, settings, page_size=page_size)
        if status:
            state = worker.status()
            body = {"topic": state.topic, "position": state.position, "head": state.head,
                    "lag": state.lag, "published": state.published}
            _emit(body, json, f"relay → {state.topic}: position {state.position:,} of "
                              f"{state.head:,} (lag {state.lag:,}); {state.published:,} "
                              "messages acknowledged")
            return
        kafka_client.ensure_topics(settings)
        with _stop_on_sigterm() as stopping:
            sent = worker.run(once=once, stop=lambda: stopping[0])
        worker.close()
        out.print(f"relay: {sent:,} messages published to {settings.kafka_topic}; "
                  f"position {worker.position():,}")
    finally:
        store.close()
        close_ledger(ledger)


def consume(
    group: Annotated[str | None, typer.Option(help="Consumer group (LEDGER_KAFKA_GROUP).")] = None,
    status: Annotated[bool, typer.Option("--status", help="Show stored offsets and lag.")] = False,
    exit_when_idle: Annotated[float | None, typer.Option(
        help="Exit after this many seconds with nothing to read.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Build the reporting read models from the topic, as one member of a consumer group.

    Participant status and coverage, into LEDGER_REPORTING_DATABASE_URL (var/reporting.db)."""
    from consumers.reporting import ReportingConsumer

    settings = Settings()
    kafka_client.bootstrap(settings)
    store = build_reporting_store(settings)
    try:
        member = ReportingConsumer(settings, store, event_mapper(), all_projections(),
                                   group=group)
        if status:
            lags = member.lag()
            body = {"group": member.group, "topic": member.topic,
                    "lag": sum(p.lag for p in lags),
                    "partitions": [{"partition": p.partition, "offset": p.next_offset,
                                    "end": p.end_offset, "lag": p.lag} for p in lags]}
            _emit(body, json, f"group {member.group} on {member.topic}: lag "
                              f"{body['lag']:,} over {len(lags)} partitions")
            return
        kafka_client.ensure_topics(settings)
        with _stop_on_sigterm() as stopping:
            applied = member.run(stop=lambda: stopping[0], exit_when_idle=exit_when_idle)
        out.print(f"consume: {applied:,} events applied, {member.dead:,} dead letters "
                  f"(group {member.group})")
    finally:
        store.close()


def _emit(body: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(body).decode() + "\n")
    else:
        out.print(text)


def register(app: typer.Typer) -> None:
    """Add these commands to the `ledger` app."""
    app.add_typer(services_app, name="services")
    app.command("relay")(relay)
    app.command("consume")(consume)


__all__ = ["local_broker", "register"]
