"""`ledger services start|stop|status kafka|postgres`: the local services."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.render import err, out
from api.services import local_services as service
from infra.settings import Settings

app = typer.Typer(
    help="Start, stop and check the local PostgreSQL and Kafka broker.", no_args_is_help=True
)


class Service(str, Enum):
    kafka = "kafka"
    postgres = "postgres"


ServiceArgument = Annotated[Service, typer.Argument(help="kafka or postgres")]


@app.command("start")
def start(
    name: ServiceArgument,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port on 127.0.0.1. Kafka: from LEDGER_KAFKA_BOOTSTRAP, else 9092 (the controller "
            "takes the next one); PostgreSQL: 5432."
        ),
    ] = None,
) -> None:
    """Start a local service on 127.0.0.1 and wait until it answers."""
    try:
        answer = service.start(Settings(), name.value, port)
    except service.ServiceError as error:
        err.print(
            f"[red]error[/red] {escape('[service_failed]')}: {escape(str(error))}", highlight=False
        )
        raise typer.Exit(1) from None
    out.print(f"{name.value} running: {answer.detail}", highlight=False)


@app.command("stop")
def stop(name: ServiceArgument) -> None:
    """Stop a local service cleanly (Kafka keeps its topics, offsets and groups)."""
    answer = service.stop(Settings(), name.value)
    out.print(f"{name.value}: {answer.detail}", highlight=False)


@app.command("status")
def status(name: ServiceArgument) -> None:
    """Whether a local service runs; exit status 1 if not."""
    answer = service.status(Settings(), name.value)
    out.print(f"{name.value}: {answer.detail}", highlight=False)
    raise typer.Exit(0 if answer.running else 1)
