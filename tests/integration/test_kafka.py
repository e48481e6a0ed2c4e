"""The relay and the reporting consumer group against a real Apache Kafka broker.

One broker serves the whole session (the `kafka` fixture); each test has its own topic and
group. Debian's `kcat` reads what the relay wrote, as a client independent of ours. The
relay and the consumers run as `ledger` processes where a test kills them.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from consumers.relay import Relay
from consumers.reporting import ReportingConsumer
from domain.commands import (
    ApproveClaim,
    ChangeProgrammes,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
    parse,
)
from domain.ledger import Ledger
from infra import envelope, kafka_client
from infra.bootstrap import (
    System,
    all_projections,
    build_reporting_store,
    build_system,
    event_mapper,
)
from infra.settings import Settings
from projections.queries import compare
from tests.conftest import IN_CI, TEST_MASTER_KEY, TEST_PEPPER
from tests.factories import MONTHLY_JKK_JKM_1_5M, OTHER_VILLAGE, enrollment
from tests.integration.conftest import Kafka
from tests.integration.test_projections import pg_schema
from tools.seed import plan_population, seed_population

pytestmark = pytest.mark.integration

LEDGER = str(Path(sys.executable).with_name("ledger"))
DOCS = Path(__file__).resolve().parents[2] / "docs"
SEED_END = date(2025, 6, 30)


# --- set-up ------------------------------------------------------------------------------


def with_kafka(settings: Settings, kafka: Kafka, partitions: int = 12) -> Settings:
    topic, group = kafka.names()
    return settings.model_copy(
        update={
            "kafka_bootstrap": kafka.bootstrap,
            "kafka_topic": topic,
            "kafka_group": group,
            "kafka_partitions": partitions,
            "reporting_database_url": f"sqlite:///{settings.var_dir / 'reporting.db'}",
        }
    )


def env_of(settings: Settings) -> dict[str, str]:
    """The environment a `ledger` process needs to see the same set-up."""
    return {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_VAR_DIR": str(settings.var_dir),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "LEDGER_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
        "LEDGER_KAFKA_TOPIC": settings.kafka_topic,
        "LEDGER_KAFKA_GROUP": settings.kafka_group,
        "LEDGER_KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "LEDGER_REPORTING_DATABASE_URL": settings.reporting_url(),
        "COLUMNS": "200",
    }


def spawn(settings: Settings, *args: str) -> subprocess.Popen[bytes]:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    log = (settings.var_dir / f"{args[0]}-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen(
        [LEDGER, *args],
        env=env_of(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=settings.var_dir,
    )


def seed(ledger: Ledger, participants: int, months: int, number: int) -> Any:
    plan = plan_population(participants=participants, months=months, seed=number, end=SEED_END)
    seed_population(
        ledger, participants=participants, months=months, seed=number, end=SEED_END, plan=plan
    )
    return plan


def participant_events(ledger: Ledger) -> list[Any]:
    """Every notification the relay publishes, in log order."""
    found: list[Any] = []
    start = 1
    while True:
        page = ledger.recorder.select_notifications(
            start=start, limit=1000, topics=envelope.EVENT_TOPICS
        )
        if not page:
            return found
        found += page
        start = page[-1].id + 1


def kcat(settings: Settings, topic: str | None = None) -> list[dict[str, Any]]:
    """Every message of the topic as Debian's kcat reads it (JSON envelope per message)."""
    binary = shutil.which("kcat")
    if binary is None:
        message = "kcat is not installed (apt-get install kcat)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [
            binary,
            "-b",
            str(settings.kafka_bootstrap),
            "-C",
            "-t",
            topic or settings.kafka_topic,
            "-e",
            "-q",
            "-J",
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    messages = [orjson.loads(line) for line in done.stdout.splitlines() if line.strip()]
    for m in messages:
        pairs = m.get("headers") or []
        m["headers"] = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return messages


def ledger_views(settings: Settings) -> System:
    """The ledger's own read models, caught up (a system of their own: close it)."""
    system = build_system(settings, decrypt=False)
    system.runner.catch_up()
    return system


def member(settings: Settings) -> ReportingConsumer:
    return ReportingConsumer(
        settings, build_reporting_store(settings), event_mapper(), all_projections()
    )


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, logs: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = (
                "".join(
                    f"\n--- {p.name}:\n{p.read_text(errors='replace')[-3000:]}"
                    for p in sorted(logs.glob("*.log"))
                )
                if logs
                else ""
            )
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tails}")
        time.sleep(0.3)


def caught_up(settings: Settings) -> Callable[[], bool]:
    """True once the group's stored offsets reach the end of every partition."""
    probe = member(settings)

    def check() -> bool:
        lags = probe.lag()
        return bool(lags) and all(p.lag == 0 for p in lags)

    return check


def relay_position(settings: Settings) -> int:
    system = build_system(settings, decrypt=False)
    store = system.views
    try:
        rows = store.query(
            "SELECT position FROM relay_positions WHERE topic = ?", (settings.kafka_topic,)
        )
        return int(rows[0][0]) if rows else 0
    except Exception:  # noqa: BLE001 - the relay has not created its table yet
        return 0
    finally:
        system.close()


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def assert_reports_equal_ledger(settings: Settings) -> None:
    system = ledger_views(settings)
    views, reports = system.views, build_reporting_store(settings)
    try:
        assert compare(views, reports, all_projections()) == []
        assert views.query("SELECT count(*) FROM participant_status_g1")[0][0] > 0
    finally:
        system.close()
        reports.close()


# --- every event type, for the schemas -----------------------------------------------------


def every_event_type(ledger: Ledger) -> None:
    """A small history holding each kind of participant event at least once."""
    first = ledger.enroll(parse(Enroll, **enrollment(enrolled_on="2024-01-10")))
    second = ledger.enroll(
        parse(
            Enroll,
            **enrollment(
                enrolled_on="2024-01-10", name="Budi Santoso", sex="M", phone="081298765432"
            ),
        )
    )
    third = ledger.enroll(
        parse(Enroll, **enrollment(enrolled_on="2024-01-10", programmes="JKK+JKM+JHT"))
    )
    for n, pid in enumerate((first, second)):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=f"K-{n}",
                participant_id=str(pid),
                amount=MONTHLY_JKK_JKM_1_5M,
                paid_on="2024-01-12",
                channel="bank",
            )
        )
    # January paid; a payment of 10 March settles February as arrears; then the payment of
    # 10 February arrives late: it takes February, and March's payment moves to March.
    fourth = ledger.enroll(parse(Enroll, **enrollment(enrolled_on="2024-01-10")))
    for ref, day in (
        ("K-4-jan", "2024-01-12"),
        ("K-4-mar", "2024-03-10"),
        ("K-4-feb", "2024-02-10"),
    ):
        ledger.record_contribution(
            parse(
                RecordContribution,
                payment_ref=ref,
                participant_id=str(fourth),
                amount=MONTHLY_JKK_JKM_1_5M,
                paid_on=day,
                channel="bank",
            )
        )
    ledger.declare_income(
        parse(
            DeclareIncome,
            participant_id=first,
            declared_income=3_000_000,
            from_month="2024-03",
            declared_on="2024-02-01",
        )
    )
    ledger.change_programmes(
        parse(
            ChangeProgrammes,
            participant_id=first,
            programmes="JKK+JKM+JHT",
            from_month="2024-03",
            changed_on="2024-02-01",
        )
    )
    ledger.correct_details(
        parse(
            CorrectDetails,
            participant_id=first,
            village_code=OTHER_VILLAGE,
            name="Siti Rahma",
            corrected_on="2024-02-02",
        )
    )
    claim = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=first,
            programme="JKK",
            kind="medical",
            incident_date="2024-01-20",
            filed_on="2024-01-21",
            work_related=True,
            description="fell",
        )
    )
    ledger.approve_claim(
        parse(
            ApproveClaim,
            participant_id=first,
            claim_id=claim,
            approved_on="2024-01-25",
            amount=750_000,
        )
    )
    ledger.pay_claim(parse(PayClaim, participant_id=first, claim_id=claim, paid_on="2024-01-28"))
    other = ledger.file_claim(
        parse(
            FileClaim,
            participant_id=second,
            programme="JKK",
            kind="medical",
            work_related=True,
            incident_date="2024-01-20",
            filed_on="2024-01-21",
        )
    )
    ledger.reject_claim(
        parse(
            RejectClaim,
            participant_id=second,
            claim_id=other,
            reason="no report",
            rejected_on="2024-01-26",
        )
    )
    ledger.record_death(parse(RecordDeath, participant_id=second, died_on="2024-02-10"))
    ledger.withdraw(parse(Withdraw, participant_id=third, withdrawn_on="2024-02-15"))
    ledger.erase_personal_data(
        parse(ErasePersonalData, participant_id=third, erased_on="2024-03-01")
    )


def schemas() -> dict[str, Any]:
    return {
        path.stem: orjson.loads(path.read_bytes()) for path in (DOCS / "schemas").glob("*.json")
    }


# --- the tests ---------------------------------------------------------------------------


def test_the_relay_publishes_the_log_and_kcat_reads_it_in_order(
    ledger: Ledger, settings: Settings, kafka: Kafka
) -> None:
    """Every participant event once, keyed and ordered per participant, CloudEvents headers
    that match the documents, payloads that match their JSON Schemas, no personal data.
    On PostgreSQL the relay follows the log through LISTEN/NOTIFY, on SQLite it polls."""
    settings = with_kafka(settings, kafka)
    kafka_client.ensure_topics(settings)
    plan = seed(ledger, participants=60, months=8, number=21)
    every_event_type(ledger)
    expected = participant_events(ledger)

    viewer = build_system(settings, decrypt=False)
    store = viewer.views
    relay = Relay(ledger, store, settings, page_size=100)
    head = ledger.recorder.max_notification_id() or 0
    relay.run(stop=lambda: relay.position() >= head)  # following, until it reached the head
    relay.close()
    viewer.close()

    messages = kcat(settings)
    # Count: each event exactly once (nothing was killed here).
    assert len(messages) == len(expected)
    assert sorted(m["headers"]["ce_id"] for m in messages) == sorted(
        f"{n.originator_id}:{n.originator_version}" for n in expected
    )
    # Per key: one partition, log positions and versions ascending.
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: (m["partition"], m["offset"])):
        by_key[m["key"]].append(m)
    assert len({m["partition"] for m in messages}) > 1  # keys spread over the partitions
    for key, own in by_key.items():
        assert len({m["partition"] for m in own}) == 1
        positions = [int(m["headers"]["ce_logposition"]) for m in own]
        assert positions == sorted(positions)
        assert [int(m["headers"]["ce_id"].rsplit(":", 1)[1]) for m in own] == list(
            range(1, len(own) + 1)
        )
        assert all(m["headers"]["ce_subject"] == key for m in own)
    # Headers and payloads against the published documents.
    asyncapi = orjson.loads((DOCS / "asyncapi.json").read_bytes())
    header_schema = asyncapi["components"]["schemas"]["CloudEventHeaders"]
    payload_schemas = schemas()
    types_seen = set()
    for m in messages:
        jsonschema.validate(m["headers"], header_schema)
        assert m["headers"]["ce_source"] == settings.kafka_source
        name = m["headers"]["ce_type"].removeprefix(envelope.TYPE_PREFIX)
        jsonschema.validate(orjson.loads(m["payload"]), payload_schemas[name])
        types_seen.add(name)
    assert types_seen == {c.__name__ for c in envelope.EVENT_CLASSES} == set(payload_schemas)
    # No personal data in the clear anywhere in a message.
    everything = orjson.dumps(messages).decode()
    secrets = (
        [p.nik for p in plan.people]
        + [p.name for p in plan.people]
        + [p.phone for p in plan.people if p.phone]
        + ["Siti Aminah", "Budi Santoso", "081298765432"]
    )
    leaked = [s for s in secrets if s in everything]
    assert leaked == []


def test_a_relay_killed_mid_stream_leaves_nothing_out_and_the_reports_exact(
    sqlite_ledger: Ledger, tmp_path: Path, kafka: Kafka
) -> None:
    """SIGKILL the relay three times while it publishes; restarted, it re-sends from its
    last acknowledged position. Every event is on the topic at least once, and the
    group's read models, which drop the re-sent duplicates, equal the ledger's own."""
    settings = with_kafka(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
            var_dir=tmp_path / "var",
            nik_pepper=TEST_PEPPER,
            master_key=TEST_MASTER_KEY,
        ),
        kafka,
        partitions=6,
    )
    seed(sqlite_ledger, participants=150, months=12, number=31)
    expected = participant_events(sqlite_ledger)
    head = sqlite_ledger.recorder.max_notification_id() or 0

    with build_system(settings) as opened:
        assert (
            opened.views is not None
        )  # the view store exists: the relay's position, read cheaply and often:
    views = sqlite3.connect(tmp_path / "ledger-views.db", timeout=30)

    def position() -> int:
        try:
            row = views.execute(
                "SELECT position FROM relay_positions WHERE topic = ?", (settings.kafka_topic,)
            ).fetchone()
        except sqlite3.OperationalError:  # the relay has not created its table yet
            return 0
        return int(row[0]) if row else 0

    kills = 0
    with processes() as started:
        for _ in range(6):  # until three kills landed mid-stream
            before = position()
            relay = spawn(settings, "relay", "--page-size", "10")
            started.append(relay)
            deadline = time.monotonic() + 90
            while position() == before and relay.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            relay.send_signal(signal.SIGKILL)
            relay.wait()
            if before < position() < head:
                kills += 1
            if kills == 3 or position() == head:
                break
    views.close()
    assert kills >= 2, "the relay finished before it could be killed mid-stream"
    done = subprocess.run(
        [LEDGER, "relay", "--once"],
        env=env_of(settings),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert relay_position(settings) == head

    ids = [m["headers"]["ce_id"] for m in kcat(settings)]
    assert set(ids) == {f"{n.originator_id}:{n.originator_version}" for n in expected}
    assert len(ids) >= len(expected)

    consumer = member(settings)
    consumer.run(exit_when_idle=3)
    assert consumer.applied == len(expected)  # duplicates dropped, not applied twice
    assert_reports_equal_ledger(settings)


def test_three_members_share_the_partitions_and_survive_one_killed(
    sqlite_ledger: Ledger, tmp_path: Path, kafka: Kafka
) -> None:
    """Three `ledger consume` processes in one group; one is SIGKILLed mid-stream, the
    other two take its partitions over from the offsets stored with the rows."""
    settings = with_kafka(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
            var_dir=tmp_path / "var",
            nik_pepper=TEST_PEPPER,
            master_key=TEST_MASTER_KEY,
        ),
        kafka,
    )
    kafka_client.ensure_topics(settings)
    seed(sqlite_ledger, participants=120, months=10, number=41)
    viewer = build_system(settings, decrypt=False)
    store = viewer.views
    relay = Relay(sqlite_ledger, store, settings)
    relay.catch_up()
    first_wave = relay.position()
    reports = member(settings).store  # creates the group's tables before the members start

    def stored_partitions() -> int:
        return int(reports.query("SELECT count(*) FROM consumer_offsets")[0][0])

    with processes() as started:
        members = [spawn(settings, "consume") for _ in range(3)]
        started += members
        # All three own partitions before the kill: every partition has progressed.
        wait_for(lambda: stored_partitions() == 12, 90, "the members to read all partitions")
        members[1].send_signal(signal.SIGKILL)
        members[1].wait()
        # More of the log arrives after the kill; the survivors must take over.
        seed(sqlite_ledger, participants=80, months=6, number=42)
        relay.catch_up()
        assert relay.position() > first_wave
        wait_for(caught_up(settings), 120, "the surviving members to catch up", settings.var_dir)
        assert members[0].poll() is None and members[2].poll() is None
    relay.close()
    viewer.close()
    reports.close()
    assert_reports_equal_ledger(settings)


def test_the_broker_restarted_mid_stream_loses_and_doubles_nothing(
    sqlite_ledger: Ledger, tmp_path: Path, kafka: Kafka
) -> None:
    """The broker stops (SIGTERM) and starts again while the relay and a consumer run:
    both recover by themselves and the read models come out exact."""
    settings = with_kafka(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
            var_dir=tmp_path / "var",
            nik_pepper=TEST_PEPPER,
            master_key=TEST_MASTER_KEY,
        ),
        kafka,
        partitions=4,
    )
    kafka_client.ensure_topics(settings)
    seed(sqlite_ledger, participants=60, months=6, number=51)
    with processes() as started:
        relay = spawn(settings, "relay", "--page-size", "50")
        consumer = spawn(settings, "consume")
        started += [relay, consumer]
        wait_for(lambda: relay_position(settings) > 0, 60, "the relay to start publishing")
        try:
            kafka.broker.stop()
            seed(sqlite_ledger, participants=60, months=6, number=52)  # written while it is down
            time.sleep(2)
        finally:
            kafka.broker.start()
        seed(sqlite_ledger, participants=40, months=6, number=53)
        head = sqlite_ledger.recorder.max_notification_id() or 0
        wait_for(
            lambda: relay_position(settings) == head,
            120,
            "the relay to reach the head",
            settings.var_dir,
        )
        wait_for(caught_up(settings), 120, "the consumer to catch up", settings.var_dir)
        assert relay.poll() is None and consumer.poll() is None  # recovered, not restarted
    assert_reports_equal_ledger(settings)


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_malformed_message_goes_to_the_dead_letters_and_the_group_carries_on(
    ledger: Ledger, settings: Settings, kafka: Kafka
) -> None:
    settings = with_kafka(settings, kafka, partitions=1)
    kafka_client.ensure_topics(settings)
    seed(ledger, participants=10, months=3, number=61)
    viewer = build_system(settings, decrypt=False)
    store = viewer.views
    relay = Relay(ledger, store, settings)
    relay.catch_up()
    # Three bad records written by an independent client, then more good events.
    good = kcat(settings)[0]
    produce = [
        shutil.which("kcat") or "kcat",
        "-b",
        str(settings.kafka_bootstrap),
        "-P",
        "-t",
        settings.kafka_topic,
        "-k",
        good["key"],
    ]
    headers = [arg for name, value in good["headers"].items() for arg in ("-H", f"{name}={value}")]
    unknown = [
        arg if "ce_type=" not in arg else "ce_type=id.ledger.participant.Exploded"
        for arg in headers
    ]
    for extra, value in (
        ([], b"not a ledger event"),
        (unknown, b"{}"),
        (headers, b'{"timestamp": [unterminated'),
    ):
        subprocess.run(produce + extra, input=value, check=True, timeout=30)
    seed(ledger, participants=10, months=3, number=62)
    relay.catch_up()
    relay.close()
    viewer.close()

    consumer = member(settings)
    consumer.run(exit_when_idle=3)
    assert consumer.dead == 3
    letters = kcat(settings, settings.dead_letter_topic())
    reasons = sorted(m["headers"]["dlq_reason"] for m in letters)
    assert reasons == ["missing_header", "undecodable", "unknown_type"]
    assert all(m["headers"]["dlq_topic"] == settings.kafka_topic for m in letters)
    assert all(m["headers"]["dlq_error"] for m in letters)
    # The group went past them: the good events on either side are all applied.
    assert_reports_equal_ledger(settings)
    assert caught_up(settings)()


def test_a_replayed_topic_changes_nothing(
    ledger: Ledger, settings: Settings, store: str, kafka: Kafka
) -> None:
    """Offsets forgotten (a member reads the whole topic again): versions already applied
    are dropped, the read models stay exact. With the ledger on PostgreSQL the reporting
    store is a PostgreSQL schema of its own."""
    if store == "postgres":
        with pg_schema() as url:
            replay_twice(
                with_kafka(settings, kafka, partitions=3).model_copy(
                    update={"reporting_database_url": url}
                ),
                ledger,
            )
    else:
        replay_twice(with_kafka(settings, kafka, partitions=3), ledger)


def replay_twice(settings: Settings, ledger: Ledger) -> None:
    kafka_client.ensure_topics(settings)
    seed(ledger, participants=30, months=4, number=71)
    viewer = build_system(settings, decrypt=False)
    store = viewer.views
    relay = Relay(ledger, store, settings)
    relay.catch_up()
    relay.close()
    viewer.close()
    first = member(settings)
    first.run(exit_when_idle=3)
    reports = build_reporting_store(settings)
    with reports.transaction() as tx:
        tx.execute("DELETE FROM consumer_offsets")
    reports.close()
    again = member(settings)
    again.run(exit_when_idle=3)
    first.store.close()
    again.store.close()
    assert first.applied > 0 and again.applied == 0
    assert_reports_equal_ledger(settings)


def test_without_a_bootstrap_nothing_needs_a_broker(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}",
        "LEDGER_VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("LEDGER_KAFKA_BOOTSTRAP", None)
    done = subprocess.run(
        [LEDGER, "relay", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "LEDGER_KAFKA_BOOTSTRAP is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_services_status_says_whether_each_runs(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LEDGER_VAR_DIR": str(tmp_path / "var"),
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}",
    }
    kafka = subprocess.run(
        [LEDGER, "services", "status", "kafka"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert kafka.returncode == 1 and "not running" in kafka.stdout  # none under this var dir
    postgres = subprocess.run(
        [LEDGER, "services", "status", "postgres"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (postgres.returncode == 0) == ("online" in postgres.stdout), postgres.stdout
    unknown = subprocess.run(
        [LEDGER, "services", "start", "redis"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
