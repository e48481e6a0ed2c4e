"""`ledger relay` and `ledger consume`: the log to Kafka, and reporting from Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from api.cli.render import JsonOption, emit_json, out
from api.cli.stopping import until_signalled
from api.services import streaming as service
from infra.bootstrap import System, build_system
from infra.settings import Settings

app = typer.Typer()


@contextmanager
def streaming_system() -> Iterator[System]:
    """The system without decryption: neither the relay nor a consumer reads personal data."""
    with build_system(Settings(), decrypt=False) as system:
        yield system


@app.command("relay")
def relay(
    once: Annotated[
        bool, typer.Option("--once", help="Publish up to the head, then exit.")
    ] = False,
    status: Annotated[bool, typer.Option("--status", help="Position and lag only.")] = False,
    page_size: Annotated[int, typer.Option(min=1, help="Events per acknowledged batch.")] = 5000,
    json: JsonOption = False,
) -> None:
    """Publish the log to Kafka from the last acknowledged position (follows it unless --once).

    Broker: LEDGER_KAFKA_BOOTSTRAP; topic: LEDGER_KAFKA_TOPIC (ledger.events)."""
    with streaming_system() as system:
        if status:
            answer = service.relay_status(system)
        else:
            with until_signalled() as stopping:
                answer = service.relay(
                    system, once=once, page_size=page_size, stop=lambda: stopping[0]
                )
    if json:
        emit_json(answer.as_dict())
        return
    if not status:
        out.print(f"relay: {answer.sent_now:,} messages published to {answer.topic}")
    out.print(
        f"relay → {answer.topic}: position {answer.position:,} of {answer.head:,} "
        f"(lag {answer.lag:,}); {answer.published:,} messages acknowledged in all"
    )
    if answer.checkpoint_size:
        out.print(
            f"checkpoints → {system.settings.checkpoint_topic()}: "
            f"published up to tree size {answer.checkpoint_size:,}"
        )


@app.command("consume")
def consume(
    group: Annotated[str | None, typer.Option(help="Consumer group (LEDGER_KAFKA_GROUP).")] = None,
    status: Annotated[bool, typer.Option("--status", help="Stored offsets and lag only.")] = False,
    exit_when_idle: Annotated[
        float | None, typer.Option(help="Exit after this many seconds with nothing to read.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Build the reporting read models from the topic, as one member of a consumer group.

    Participant status and coverage, into LEDGER_REPORTING_DATABASE_URL (var/reporting.db)."""
    with streaming_system() as system:
        if status:
            answer = service.group_status(system, group)
        else:
            with until_signalled() as stopping:
                answer = service.consume(
                    system, group=group, stop=lambda: stopping[0], exit_when_idle=exit_when_idle
                )
    if json:
        emit_json(answer.as_dict())
        return
    if not status:
        out.print(
            f"consume: {answer.applied_now:,} events applied, "
            f"{answer.dead_letters_now:,} dead letters"
        )
    out.print(
        f"group {answer.group} on {answer.topic}: lag {answer.lag:,} over "
        f"{len(answer.partitions)} partitions"
    )
