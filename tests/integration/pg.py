"""Small PostgreSQL helpers for integration tests: split a test URL, dump a schema."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit, urlunsplit

_BYTEA_HEX = re.compile(rb"\\x([0-9a-f]+)")


def split_url(url: str) -> tuple[str, str]:
    """(`url` without its query, the `schema` named in the query or "public")."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query).get("schema", ["public"])[0]
    return urlunsplit(parts._replace(query="")), schema


def pg_dump(url: str) -> bytes:
    """`pg_dump` of the URL's schema (data and definitions), as the raw text it prints."""
    base, schema = split_url(url)
    binary = shutil.which("pg_dump")
    assert binary is not None, "pg_dump is not installed (Debian: postgresql-client)"
    done = subprocess.run(
        [binary, f"--schema={schema}", base], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def dump_with_bytea_decoded(dump: bytes) -> bytes:
    """The dump plus every `bytea` value decoded from its `\\x...` hex form.

    pg_dump prints bytea columns (the events' state) as hex, so a scan of the text alone
    would never see a plaintext name even if one were stored; decoding them is what an
    attacker holding the dump would do first."""
    decoded = [bytes.fromhex(match.decode()) for match in _BYTEA_HEX.findall(dump)]
    return dump + b"\n" + b"\n".join(decoded)
