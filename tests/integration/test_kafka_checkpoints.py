"""The audit log's signed checkpoints published on Kafka, read by a third party.

Against the session's real broker (the `kafka` fixture): the sealer signs checkpoints, the
relay publishes them to `<topic>.checkpoints`, and Debian's `kcat`, a client independent of
ours, reads that topic. Each message must verify with the verifier key (checked by the
tests' own signed-note reader) and be consistent with the one before it (checked by the
tests' RFC 9162 verifier on a proof the ledger serves).
"""

from __future__ import annotations

import base64
import threading
import time

import jsonschema
import orjson
import pytest

from api.services import audit, streaming
from consumers.relay import Relay
from infra import kafka_client
from infra.audit.system import publish_dir
from infra.bootstrap import build_system
from infra.settings import Settings
from tests.integration.conftest import Kafka
from tests.integration.test_kafka import DOCS, every_event_type, kcat, seed, with_kafka
from tests.rfc9162 import verify_consistency
from tests.signed_note import Signed, open_checkpoint

pytestmark = pytest.mark.integration


def test_each_signed_checkpoint_reaches_the_topic_once_verifiable_and_consistent(
    settings: Settings, kafka: Kafka
) -> None:
    settings = with_kafka(settings, kafka, partitions=3).model_copy(
        update={"audit_checkpoint_every": 60}
    )
    with build_system(settings) as system:
        seed(system.ledger, participants=20, months=6, number=31)
        kafka_client.ensure_topics(settings)
        # Checkpoints signed before the relay ever ran are published by its first run.
        sealed = audit.seal(system)
        assert len(sealed.checkpoints) >= 2
        first = streaming.relay(system, once=True)
        assert first.checkpoint_size == sealed.checkpoints[-1]
        # The log grows and a checkpoint is signed while a relay follows the log (on
        # PostgreSQL by LISTEN/NOTIFY, on SQLite by polling): it sends only the new one.
        follower = Relay(system.ledger, system.views, settings, page_size=100)
        deadline = time.monotonic() + 60
        done = threading.Event()
        running = threading.Thread(
            target=lambda: follower.run(stop=lambda: done.is_set() or time.monotonic() > deadline)
        )
        running.start()
        try:
            every_event_type(system.ledger)
            latest = audit.checkpoint(system)
            assert latest.new
            while follower.position(settings.checkpoint_topic()) < latest.tree_size:
                assert time.monotonic() < deadline, "the following relay did not publish it"
                time.sleep(0.2)
        finally:
            done.set()
            running.join(timeout=30)
            follower.close()
        assert streaming.relay(system, once=True).checkpoint_size == latest.tree_size

        key = audit.verifier_key(system).verifier_key
        kept = audit.kept_checkpoints(system)
        messages = kcat(settings, settings.checkpoint_topic())

        # Each checkpoint once (nothing failed here), in signing order, keyed by tree size.
        assert [int(m["key"]) for m in messages] == [c.tree_size for c in kept]
        assert {m["partition"] for m in messages} == {0}
        asyncapi = orjson.loads((DOCS / "asyncapi.json").read_bytes())
        header_schema = asyncapi["components"]["schemas"]["CheckpointHeaders"]
        folder = publish_dir(settings)
        previous: Signed | None = None
        for message, checkpoint in zip(messages, kept, strict=True):
            jsonschema.validate(message["headers"], header_schema)
            assert message["headers"]["ce_source"] == settings.kafka_source
            assert int(message["headers"]["ce_logposition"]) == checkpoint.position
            note = message["payload"]
            # Byte for byte the published file, and signed by the log's key.
            assert note == (folder / f"{checkpoint.tree_size}.checkpoint").read_text()
            signed = open_checkpoint(note, key)
            assert signed is not None, note
            assert (signed.tree_size, signed.root) == (checkpoint.tree_size, checkpoint.root)
            # A third party holds the log to what it kept: each extends the one before.
            if previous is not None:
                proof = audit.consistency(
                    system, old_size=previous.tree_size, new_size=signed.tree_size
                )
                assert verify_consistency(
                    previous.tree_size, signed.tree_size, previous.root, signed.root, proof.path
                )
                assert not verify_consistency(
                    previous.tree_size, signed.tree_size, signed.root, previous.root, proof.path
                )
            previous = signed
        # A forged note does not verify.
        forged = messages[-1]["payload"].replace(
            base64.b64encode(kept[-1].root).decode(), base64.b64encode(b"\0" * 32).decode()
        )
        assert open_checkpoint(forged, key) is None
