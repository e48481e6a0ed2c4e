"""One real server per store for the whole session: `ledger serve` (uvicorn) on a free
port over a fresh SQLite store, then over a fresh PostgreSQL schema, with one API key per
role (the first made by `ledger api-keys add` as an operator would, the rest through the
same key file)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from infra.api_keys import ApiKeyStore, Role
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER, require_postgres

LEDGER = str(Path(sys.executable).with_name("ledger"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running `ledger serve`, its environment and a key per role."""

    url: str
    env: dict[str, str]
    keys: dict[Role, str]
    log: Path
    process: subprocess.Popen[bytes]
    key_file: Path
    clients: dict[Role | None, httpx.Client] = field(default_factory=dict)

    def client(self, role: Role | None) -> httpx.Client:
        """A client sending `role`'s key (None: no key at all)."""
        if role not in self.clients:
            headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
            self.clients[role] = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        return self.clients[role]

    def ledger(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LEDGER, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per store for the session: SQLite, then PostgreSQL (a schema of its own)."""
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    with _database(request.param, folder) as url:
        yield from _serve(folder, url)


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    import psycopg

    base = require_postgres()
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _serve(folder: Path, database_url: str) -> Iterator[Server]:
    key_file = folder / "api-keys.json"
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": database_url,
        "LEDGER_VAR_DIR": str(folder / "var"),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "LEDGER_API_KEYS_FILE": str(key_file),
        "COLUMNS": "200",
    }
    made = subprocess.run(
        [LEDGER, "api-keys", "add", "admin", "--label", "e2e"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    keys = {Role.ADMIN: made.stdout.strip()}
    store = ApiKeyStore(key_file)
    keys |= {role: store.add(role, "e2e")[0] for role in Role if role is not Role.ADMIN}
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [LEDGER, "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    running = Server(f"http://127.0.0.1:{port}", env, keys, log, process, key_file)
    try:
        _wait_until_up(running)
        yield running
    finally:
        for client in running.clients.values():
            client.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"ledger serve exited: {server.log.read_text()[-2000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"ledger serve did not answer: {server.log.read_text()[-2000:]}")
