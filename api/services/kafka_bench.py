"""Kafka benchmark: the relay and the reporting group, each beside a bare client, one run.

    python -m api.services.kafka_bench [--participants 2000] [--months 12] [--repeats 3]

- relay: `Relay.catch_up` over a seeded SQLite log (read, envelope, send, wait for acks,
  record the position) against a bare kafka-python producer sending the very same
  pre-encoded messages (key, value, headers) with the same settings: the ratio is what
  the relay's own work costs.
- consumers: the reporting group with one and with two members (processes) against a bare
  consumer that reads the same topic and does nothing with it. Rates run from each
  member's first record to its last (joining the group is not counted).

Each figure is the median of `--repeats` runs, alternating the two sides. A broker is
started for the run (jars from the Maven cache) unless LEDGER_KAFKA_BOOTSTRAP is set.
Writes BENCHMARKS-kafka.md and .json beside the README.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from consumers.relay import Relay
from consumers.reporting import ReportingConsumer
from infra import envelope, kafka_client
from infra.bootstrap import (
    all_projections,
    build_reporting_store,
    build_system,
    event_mapper,
)
from infra.services.kafka import KafkaBroker, free_port
from infra.settings import Settings
from tools.seed import seed_population

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def broker(settings: Settings, folder: Path) -> Iterator[str]:
    if settings.kafka_bootstrap:
        yield settings.kafka_bootstrap
        return
    local = KafkaBroker(
        folder / "kafka", port=free_port(), controller_port=free_port(), die_with_parent=True
    )
    local.start()
    try:
        yield local.bootstrap
    finally:
        local.stop()


def fresh(settings: Settings, folder: Path, partitions: int) -> Settings:
    """The same ledger, a new topic, group and reporting store."""
    tag = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "kafka_topic": f"bench.{tag}",
            "kafka_group": f"bench-{tag}",
            "kafka_partitions": partitions,
            "reporting_database_url": f"sqlite:///{folder / f'reporting-{tag}.db'}",
        }
    )


def relay_rate(settings: Settings) -> tuple[float, int]:
    kafka_client.ensure_topics(settings)
    system = build_system(settings, decrypt=False)
    try:
        relay = Relay(system.ledger, system.views, settings)
        relay.connect()  # as the bare producer, connected before the clock starts
        started = time.perf_counter()
        sent = relay.catch_up()
        elapsed = time.perf_counter() - started
        relay.close()
        return sent / elapsed, sent
    finally:
        system.close()


def encoded_messages(settings: Settings) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    system = build_system(settings, decrypt=False)
    ledger = system.ledger
    try:
        found: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
        start, source = 1, settings.kafka_source.encode()
        while True:
            page = ledger.recorder.select_notifications(
                start=start, limit=5000, topics=envelope.EVENT_TOPICS
            )
            if not page:
                return found
            for n in page:
                key, headers = envelope.encode(
                    n.id, n.originator_id, n.originator_version, n.topic, n.state, source
                )
                found.append((key, n.state, headers))
            start = page[-1].id + 1
    finally:
        system.close()


def bare_producer_rate(settings: Settings, messages: list[Any]) -> float:
    kafka_client.ensure_topics(settings)
    producer = kafka_client.producer(settings)
    send, topic = producer.send, settings.kafka_topic
    started = time.perf_counter()
    for key, value, headers in messages:
        send(topic, key=key, value=value, headers=headers)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(messages) / elapsed


def bare_consumer_rate(settings: Settings, expected: int) -> float:
    from kafka import TopicPartition

    consumer = kafka_client.consumer(settings, None)
    parts = [
        TopicPartition(settings.kafka_topic, p)
        for p in consumer.partitions_for_topic(settings.kafka_topic)
    ]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    seen, first = 0, None
    while seen < expected:
        batch = consumer.poll(timeout_ms=500)
        if batch and first is None:
            first = time.perf_counter()
        seen += sum(len(records) for records in batch.values())
    elapsed = time.perf_counter() - (first or time.perf_counter())
    consumer.close()
    return seen / elapsed


def _member(settings_json: bytes, expected: int, results: Any) -> None:
    """One group member in its own process: (first record time, last, events applied)."""
    settings = Settings.model_validate_json(settings_json)
    store = build_reporting_store(settings)
    member = ReportingConsumer(settings, store, event_mapper(), all_projections())
    marks: list[float] = []
    apply = member.apply

    def timed(batch: dict[Any, list[Any]]) -> None:
        if not marks:
            marks.append(time.time())
        apply(batch)
        marks.append(time.time())

    member.apply = timed  # type: ignore[method-assign]

    def done() -> bool:
        offsets = sum(member.stored_offsets().values())
        return offsets >= expected

    member.run(stop=done, exit_when_idle=20)
    results.put((marks[0] if marks else 0.0, marks[-1] if marks else 0.0, member.applied))
    store.close()


def group_rate(settings: Settings, expected: int, members: int) -> float:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    # Tables first, so that the members do not race to create them.
    ReportingConsumer(settings, build_reporting_store(settings), event_mapper(), all_projections())
    payload = settings.model_dump_json().encode()
    processes = [
        context.Process(target=_member, args=(payload, expected, results)) for _ in range(members)
    ]
    for process in processes:
        process.start()
    marks = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    applied = sum(m[2] for m in marks)
    elapsed = max(m[1] for m in marks) - min(m[0] for m in marks if m[0])
    assert applied == expected, f"applied {applied} of {expected}"
    return applied / elapsed


def run(participants: int, months: int, repeats: int, partitions: int = 12) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kafka-bench-") as folder_name:
        folder = Path(folder_name)
        base = Settings(
            database_url=f"sqlite:///{folder / 'ledger.db'}",
            var_dir=folder / "var",
            nik_pepper=SecretStr("YmVuY2ggcGVwcGVyIDMyIGJ5dGVzIGxvbmcuLi4uLi4="),
            master_key=SecretStr("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="),
        )
        with build_system(base) as system:
            seed_population(
                system.ledger,
                participants=participants,
                months=months,
                seed=1,
                end=date(2025, 6, 30),
            )
        with broker(Settings(), folder) as bootstrap:
            base = base.model_copy(update={"kafka_bootstrap": bootstrap})
            messages = encoded_messages(base)
            relay, bare, bare_in, one, two = [], [], [], [], []
            for _ in range(repeats):
                relayed = fresh(base, folder, partitions)  # a new topic: the relay starts at 0
                rate, sent = relay_rate(relayed)
                relay.append(rate)
                bare.append(bare_producer_rate(fresh(base, folder, partitions), messages))
                bare_in.append(bare_consumer_rate(relayed, sent))
                one.append(group_rate(fresh_group(relayed, folder), sent, 1))
                two.append(group_rate(fresh_group(relayed, folder), sent, 2))
    median = statistics.median
    return {
        "events": len(messages),
        "participants": participants,
        "months": months,
        "partitions": partitions,
        "repeats": repeats,
        "relay_per_s": median(relay),
        "bare_producer_per_s": median(bare),
        "relay_ratio": median(relay) / median(bare),
        "bare_consumer_per_s": median(bare_in),
        "group_1_per_s": median(one),
        "group_2_per_s": median(two),
        "group_1_ratio": median(one) / median(bare_in),
        "group_2_ratio": median(two) / median(bare_in),
        "runs": {
            "relay": relay,
            "bare_producer": bare,
            "bare_consumer": bare_in,
            "group_1": one,
            "group_2": two,
        },
    }


def fresh_group(settings: Settings, folder: Path) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "kafka_group": f"bench-{tag}",
            "reporting_database_url": f"sqlite:///{folder / f'reporting-{tag}.db'}",
        }
    )


def national_year(per_member: float, members: int = 12, events: int = 840_000_000) -> float:
    """Hours for a group of `members` (one per partition and machine) to read a year."""
    return events / (per_member * members) / 3600


def report(result: dict[str, Any]) -> str:
    r = result
    hours = national_year(r["group_1_per_s"])
    return "\n".join(
        [
            "# Kafka benchmark",
            "",
            (
                f"{r['events']:,} events ({r['participants']:,} participants "
                f"x {r['months']} months, "
                f"SQLite log), {r['partitions']} partitions, one local broker; medians of "
                f"{r['repeats']} runs, each side measured in the same run. "
                "`python -m api.services.kafka_bench`."
            ),
            "",
            "| what | events/s | baseline | baseline events/s | ratio |",
            "| --- | ---: | --- | ---: | ---: |",
            (
                f"| relay (`Relay.catch_up`) | {r['relay_per_s']:,.0f} "
                "| bare kafka-python producer, "
                f"same pre-encoded messages | {r['bare_producer_per_s']:,.0f} "
                f"| {r['relay_ratio']:.2f} |"
            ),
            (
                f"| reporting group, 1 member | {r['group_1_per_s']:,.0f} "
                "| bare consumer, no work | "
                f"{r['bare_consumer_per_s']:,.0f} | {r['group_1_ratio']:.2f} |"
            ),
            (
                f"| reporting group, 2 members | {r['group_2_per_s']:,.0f} "
                "| bare consumer, no work | "
                f"{r['bare_consumer_per_s']:,.0f} | {r['group_2_ratio']:.2f} |"
            ),
            "",
            (
                f"A national year (840M events) read by a 12-partition group on 12 machines at the "
                f"measured one-member rate: 840,000,000 / (12 x {r['group_1_per_s']:,.0f}/s) = "
                f"{hours:,.1f} h."
            ),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS-kafka.md")
    args = parser.parse_args()
    result = run(args.participants, args.months, args.repeats)
    text = report(result)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(text)


if __name__ == "__main__":
    main()
