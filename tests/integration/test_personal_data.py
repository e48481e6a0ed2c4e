"""Personal data at rest, on both stores: never in clear, erasable, tamper-evident.

The raw checks read what an attacker with the storage would read: the SQLite files
(database, its WAL, the key database) byte for byte, or a `pg_dump` of the test schema
with its bytea columns decoded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from domain.commands import (
    ApproveClaim,
    CorrectDetails,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    parse,
    run_parsed,
)
from domain.coverage import ParticipantStatus
from domain.errors import RuleViolationError
from domain.indexes import blind_index
from domain.ledger import EnrollmentResult, Ledger, PaymentResult
from domain.participant import Participant
from domain.values import Period
from infra.bootstrap import build_system
from infra.personal_data import PII_FIELD
from infra.settings import Settings, load_secrets, parse_database_url
from tests.conftest import TEST_MASTER_KEY
from tests.factories import MONTHLY_JKK_JKM_1_5M, VILLAGE, enrollment
from tests.integration.pg import dump_with_bytea_decoded, pg_dump, split_url

MONTHLY_WITH_JHT_1_5M = MONTHLY_JKK_JKM_1_5M + 30_000  # + JHT 2% of Rp 1,500,000
OTHER_PEPPER = base64.b64encode(b"another pepper, 32 bytes long...").decode()

FIRST = (
    "Kinanti",
    "Larasati",
    "Gendhiswari",
    "Pramestiana",
    "Rukminingsih",
    "Weningtyas",
    "Kemuningsari",
    "Anjanikirana",
    "Padmasariwati",
    "Sekarwangi",
)
LAST = ("Wiradikarta", "Sasmitaputri", "Hadiningrat", "Kusumabangsa", "Tirtaamijaya")
CLAIM_DESCRIPTION = "Tersiram minyak panas di dapur warung sate Pak Kumis"


# --- reading the raw store ------------------------------------------------------------


def raw_store(settings: Settings) -> bytes:
    """Every byte the store holds: SQLite files (db, WAL, keys db and its WAL), or a
    pg_dump of the schema with bytea values decoded."""
    db = parse_database_url(settings.database_url)
    if db.kind == "postgres":
        return dump_with_bytea_decoded(pg_dump(settings.database_url))
    assert db.path is not None
    keys = db.path.with_name(db.path.stem + "-keys.db")
    files = [db.path, Path(f"{db.path}-wal"), keys, Path(f"{keys}-wal")]
    assert db.path.is_file() and keys.is_file()
    return b"\n".join(path.read_bytes() for path in files if path.exists())


def rewrite_state(
    settings: Settings, originator_id: UUID, version: int, change: Callable[[bytes], bytes]
) -> None:
    """Change one stored event's state in place, behind the ledger's back."""
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        with sqlite3.connect(str(db.path)) as conn:
            (state,) = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id=? AND originator_version=?",
                (originator_id.hex, version),
            ).fetchone()
            conn.execute(
                "UPDATE stored_events SET state=? WHERE originator_id=? AND originator_version=?",
                (change(state), originator_id.hex, version),
            )
        return
    base, schema = split_url(settings.database_url)
    table = sql.Identifier(schema, "ledger_events")
    with psycopg.connect(base) as conn:
        row = conn.execute(
            sql.SQL("SELECT state FROM {} WHERE originator_id=%s AND originator_version=%s").format(
                table
            ),
            (originator_id, version),
        ).fetchone()
        assert row is not None
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state=%s WHERE originator_id=%s AND originator_version=%s"
            ).format(table),
            (change(bytes(row[0])), originator_id, version),
        )


def _pii_span(state: bytes) -> tuple[int, int]:
    start = state.index(f'"{PII_FIELD}":"'.encode()) + len(PII_FIELD) + 4
    return start, state.index(b'"', start)


def flip_ciphertext_byte(state: bytes) -> bytes:
    """Flip one bit of one ciphertext byte inside the `_pii_` blob (base64 kept valid)."""
    start, end = _pii_span(state)
    blob = bytearray(base64.b64decode(state[start:end]))
    blob[12 + 3] ^= 0x01  # past the 12-byte nonce
    return state[:start] + base64.b64encode(bytes(blob)) + state[end:]


def flip_stored_byte(state: bytes) -> bytes:
    """Change one byte of the stored blob text to another base64 letter."""
    start, end = _pii_span(state)
    position = start + (end - start) // 2
    letter = state[position : position + 1]
    return state[:position] + (b"B" if letter == b"A" else b"A") + state[position + 1 :]


def wrapped_key(settings: Settings, key_id: UUID) -> bytes | None:
    """The wrapped data key as the key table holds it, read directly."""
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        assert db.path is not None
        with sqlite3.connect(str(db.path.with_name(db.path.stem + "-keys.db"))) as conn:
            row = conn.execute(
                "SELECT wrapped FROM data_keys WHERE key_id=?", (key_id.bytes,)
            ).fetchone()
    else:
        base, schema = split_url(settings.database_url)
        with psycopg.connect(base) as conn:
            row = conn.execute(
                sql.SQL("SELECT wrapped FROM {} WHERE key_id=%s").format(
                    sql.Identifier(schema, "ledger_data_keys")
                ),
                (key_id,),
            ).fetchone()
    return None if row is None else bytes(row[0])


@contextmanager
def second_store(store: str, tmp_path: Path) -> Iterator[str]:
    """A separate, empty store of the same kind."""
    if store == "sqlite":
        yield f"sqlite:///{tmp_path / 'other' / 'ledger.db'}"
        return
    base, _ = split_url(os.environ["LEDGER_TEST_POSTGRES_URL"])
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def first_event(ledger: Ledger, participant_id: UUID) -> Participant.Enrolled:
    event = next(iter(ledger.get_history(participant_id)))
    assert isinstance(event, Participant.Enrolled)
    return event


def pay(
    ledger: Ledger, participant_id: UUID, ref: str, amount: int, paid_on: str = "2024-01-10"
) -> PaymentResult:
    return ledger.record_contribution(
        parse(
            RecordContribution,
            payment_ref=ref,
            participant_id=participant_id,
            amount=amount,
            paid_on=paid_on,
            channel="bank",
        )
    )


def open_jkk_claim(ledger: Ledger, participant_id: UUID, description: str = "jatuh") -> UUID:
    return ledger.file_claim(
        parse(
            FileClaim,
            participant_id=participant_id,
            programme="JKK",
            kind="medical",
            incident_date="2024-02-15",
            filed_on="2024-02-20",
            work_related=True,
            description=description,
        )
    )


# --- nothing personal in clear --------------------------------------------------------


def seed_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(50):
        birth_date = date(1965 + i % 30, 1 + i % 12, 1 + (i * 7) % 28)
        rows.append(
            enrollment(
                name=f"{FIRST[i % 10]} {LAST[i // 10]}",
                birth_date=birth_date,
                sex="F" if i % 2 else "M",
                phone=f"0813{i:08d}",
                address=f"Gang Cempakawangi nomor {i}",
            )
        )
    return rows


def test_no_personal_data_in_the_raw_store(ledger: Ledger, settings: Settings) -> None:
    rows = seed_rows()
    enrolled = run_parsed(Enroll, rows, ledger.enroll_many)
    assert all(isinstance(r, EnrollmentResult) for r in enrolled), enrolled
    ids = [r.participant_id for r in enrolled if isinstance(r, EnrollmentResult)]
    paid = run_parsed(
        RecordContribution,
        [
            {
                "payment_ref": f"SETTLE-{i:04d}",
                "participant_id": str(pid),
                "amount": 2 * MONTHLY_JKK_JKM_1_5M,
                "paid_on": "2024-01-10",
                "channel": "bank",
            }
            for i, pid in enumerate(ids)
        ],
        ledger.record_contributions,
    )
    assert all(isinstance(r, PaymentResult) for r in paid), paid
    open_jkk_claim(ledger, ids[0], CLAIM_DESCRIPTION)
    # The ledger itself can read it all back...
    assert ledger.get_personal_data(ids[7])["name"] == rows[7]["name"]  # type: ignore[index]
    assert ledger.find_participant(rows[7]["nik"]) == ids[7]
    assert ledger.vault.count() == 2 * len(rows)  # type: ignore[attr-defined]

    raw = raw_store(settings)

    # ...but the store holds none of it in clear.
    secrets: list[str] = [CLAIM_DESCRIPTION, "Cempakawangi", *LAST, *FIRST]
    for row in rows:
        secrets += [row["nik"], row["name"], row["phone"][1:], row["birth_date"]]
    leaked = sorted({s for s in secrets if s.encode() in raw})
    assert leaked == [], f"in clear in the raw store: {leaked[:10]}"
    # The scan is real: the facts that are not personal are there, in clear.
    for public in (VILLAGE, "trader", "perisai", "SETTLE-0049", "JKK"):
        assert public.encode() in raw, public


# --- erasure ----------------------------------------------------------------------------


def test_erasure_destroys_the_keys_and_keeps_the_history(
    ledger: Ledger, settings: Settings
) -> None:
    row = enrollment(name="Ratna Sariwidodo", phone="081377770001")
    pid = ledger.enroll(parse(Enroll, row))
    other_row = enrollment(name="Bambang Tirtonegoro")
    other = ledger.enroll(parse(Enroll, other_row))
    pay(ledger, pid, "ER-1", 3 * MONTHLY_JKK_JKM_1_5M)
    claim = open_jkk_claim(ledger, pid, "terkilir di kebun")
    ledger.approve_claim(
        parse(
            ApproveClaim,
            participant_id=pid,
            claim_id=claim,
            approved_on="2024-02-25",
            amount=500_000,
        )
    )
    ledger.pay_claim(parse(PayClaim, participant_id=pid, claim_id=claim, paid_on="2024-02-28"))
    keys_before = ledger.vault.count()  # type: ignore[attr-defined]
    before = ledger.get_status(pid, as_of="2024-02-15")
    key = wrapped_key(settings, pid)
    assert key is not None and key in raw_store(settings)

    ledger.erase_personal_data(parse(ErasePersonalData, participant_id=pid, erased_on="2024-03-01"))

    # The participant's wrapped key is gone from the key table, and from the raw bytes
    # (SQLite: database file and WAL, thanks to secure_delete and the checkpoint).
    assert wrapped_key(settings, pid) is None
    assert key not in raw_store(settings)

    assert ledger.find_participant(row["nik"]) is None
    assert ledger.get_personal_data(pid) is None
    assert ledger.vault.count() == keys_before - 2  # type: ignore[attr-defined]
    history: list[Any] = list(ledger.get_history(pid))
    assert [type(e) for e in history] == [
        Participant.Enrolled,
        Participant.ContributionPaid,
        Participant.ClaimFiled,
        Participant.ClaimApproved,
        Participant.ClaimPaid,
        Participant.PersonalDataErased,
    ]
    assert history[0].personal is None
    assert history[2].details is None
    assert history[0].village == VILLAGE  # the facts that are not personal remain
    after = ledger.get_status(pid, as_of="2024-02-15")
    assert isinstance(after, ParticipantStatus)
    assert after.paid_through == Period.parse("2024-03") == before.paid_through
    assert after.status == before.status and after.covered_programmes == before.covered_programmes
    assert not after.erased  # status as of a day before the erasure
    assert ledger.get_status(pid, as_of="2024-03-15").erased
    # Nobody else lost anything.
    assert ledger.get_personal_data(other)["name"] == other_row["name"]  # type: ignore[index]
    assert ledger.find_participant(other_row["nik"]) == other

    # A ledger built afresh on the same store (no cache of any kind) agrees.
    fresh_system = build_system(settings)
    fresh = fresh_system.ledger
    try:
        assert fresh.find_participant(row["nik"]) is None
        assert fresh.get_personal_data(pid) is None
        assert first_event(fresh, pid).personal is None
        assert fresh.get_status(pid, as_of="2024-02-15").paid_through == Period.parse("2024-03")
        assert fresh.get_personal_data(other)["name"] == other_row["name"]  # type: ignore[index]
    finally:
        fresh_system.close()

    # Erasing again is harmless, and the NIK is free for a new enrollment.
    ledger.erase_personal_data(parse(ErasePersonalData, participant_id=pid))
    assert ledger.vault.count() == keys_before - 2  # type: ignore[attr-defined]
    again = ledger.enroll(parse(Enroll, {**row, "enrolled_on": "2024-04-01"}))
    assert again != pid and ledger.find_participant(row["nik"]) == again


def test_erasure_is_refused_under_legal_hold(ledger: Ledger) -> None:
    with_claim = ledger.enroll(parse(Enroll, enrollment()))
    pay(ledger, with_claim, "LH-1", 3 * MONTHLY_JKK_JKM_1_5M)
    open_jkk_claim(ledger, with_claim)
    with_jht = ledger.enroll(parse(Enroll, enrollment(programmes="JKK+JKM+JHT")))
    pay(ledger, with_jht, "LH-2", 2 * MONTHLY_WITH_JHT_1_5M)

    for pid, code in ((with_claim, "legal_hold_open_claim"), (with_jht, "legal_hold_jht_balance")):
        position = ledger.recorder.max_notification_id()
        keys = ledger.vault.count()  # type: ignore[attr-defined]
        with pytest.raises(RuleViolationError) as refused:
            ledger.erase_personal_data(parse(ErasePersonalData, participant_id=pid))
        assert refused.value.code == code
        assert ledger.recorder.max_notification_id() == position
        assert ledger.vault.count() == keys  # type: ignore[attr-defined]
        assert ledger.get_personal_data(pid) is not None


# --- tampering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper", [flip_ciphertext_byte, flip_stored_byte], ids=["ciphertext-bit", "stored-byte"]
)
def test_tampered_personal_data_reads_as_none(
    ledger: Ledger, settings: Settings, tamper: Callable[[bytes], bytes]
) -> None:
    row = enrollment(name="Dewi Anggraenisari")
    pid = ledger.enroll(parse(Enroll, row))
    untouched = ledger.enroll(parse(Enroll, enrollment(name="Yohana Sitompulsari")))
    assert ledger.get_personal_data(pid)["name"] == row["name"]  # type: ignore[index]

    rewrite_state(settings, pid, 1, tamper)

    assert ledger.get_personal_data(pid) is None
    enrolled = first_event(ledger, pid)
    assert enrolled.personal is None
    assert enrolled.village == VILLAGE and enrolled.enrolled_on == date(2024, 1, 10)
    assert ledger.get_status(pid, as_of="2024-01-15").enrolled_on == date(2024, 1, 10)
    assert ledger.get_personal_data(untouched) is not None


def test_personal_data_cannot_be_moved_between_events(ledger: Ledger, settings: Settings) -> None:
    """The blob is bound to its event (originator id and version, as associated data)."""
    pid = ledger.enroll(parse(Enroll, enrollment()))
    ledger.correct_details(
        parse(CorrectDetails, participant_id=pid, phone="081399990000", corrected_on="2024-02-01")
    )
    blobs: dict[int, bytes] = {}

    def take(version: int) -> Callable[[bytes], bytes]:
        def keep(state: bytes) -> bytes:
            start, end = _pii_span(state)
            blobs[version] = state[start:end]
            return state

        return keep

    rewrite_state(settings, pid, 2, take(2))

    def swap(state: bytes) -> bytes:
        start, end = _pii_span(state)
        return state[:start] + blobs[2] + state[end:]

    rewrite_state(settings, pid, 1, swap)
    assert blobs[2]
    assert first_event(ledger, pid).personal is None


# --- the NIK's blind index --------------------------------------------------------------


def test_nik_blind_index_is_keyed(
    ledger: Ledger, settings: Settings, store: str, tmp_path: Path
) -> None:
    row = enrollment()
    nik = row["nik"]
    pid = ledger.enroll(parse(Enroll, row))
    index_id = _nik_index_id(ledger)

    with second_store(store, tmp_path) as other_url:
        other_system = build_system(
            Settings(
                database_url=other_url,
                var_dir=tmp_path / "other-var",
                nik_pepper=SecretStr(OTHER_PEPPER),
                master_key=SecretStr(TEST_MASTER_KEY),
            )
        )
        other = other_system.ledger
        try:
            other_pid = other.enroll(parse(Enroll, row))
            other_index_id = _nik_index_id(other)
            assert other.find_participant(nik) == other_pid
        finally:
            other_system.close()

    assert ledger.find_participant(nik) == pid
    assert index_id != other_index_id
    assert index_id == blind_index(load_secrets(settings).nik_pepper, nik)
    assert other_index_id == blind_index(base64.b64decode(OTHER_PEPPER), nik)

    raw = raw_store(settings)
    assert str(index_id).encode() in raw or index_id.hex.encode() in raw  # the scan is real
    for text in (nik, f"nik:{nik}"):
        digest = hashlib.sha256(text.encode()).digest()
        unkeyed = UUID(bytes=digest[:16])
        for form in (
            digest.hex().encode(),
            digest[:16],
            str(unkeyed).encode(),
            unkeyed.hex.encode(),
            base64.b64encode(digest),
        ):
            assert form not in raw, f"an unkeyed hash of the NIK is stored: {form!r}"


def _nik_index_id(ledger: Ledger) -> UUID:
    notifications = ledger.recorder.select_notifications(start=None, limit=100)
    ids = [n.originator_id for n in notifications if n.topic.endswith("NikIndex.Registered")]
    assert len(ids) == 1
    return UUID(str(ids[0]))


# --- the embedded default's secrets file -------------------------------------------------


def test_secrets_file_is_created_once_with_mode_600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        var_dir=var,
        nik_pepper=None,
        master_key=None,
    )
    assert not var.exists()

    first = load_secrets(settings)
    path = var / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert len(first.nik_pepper) == 32 and len(first.master_key) == 32

    assert load_secrets(settings) == first  # reused, not regenerated
    assert path.read_bytes() == content
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # Two ledgers built from these settings share the pepper and the master key.
    row = enrollment()
    with build_system(settings) as app:
        pid = app.ledger.enroll(parse(Enroll, row))
    again_system = build_system(settings)
    again = again_system.ledger
    try:
        assert again.find_participant(row["nik"]) == pid
        assert again.get_personal_data(pid)["name"] == row["name"]  # type: ignore[index]
    finally:
        again_system.close()
    assert path.read_bytes() == content
