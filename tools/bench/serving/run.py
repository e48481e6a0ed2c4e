"""The HTTP API under load: `ledger serve` and a bare FastAPI endpoint, each in a
process of its own on loopback, driven from this process by the same closed-loop client.

Status reads (answered from the read model) and contribution writes (through the group
committer) are measured beside the bare endpoint's rate in the same run, interleaved,
each repeated; the report quotes medians and the ratio to the bare endpoint.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from domain.values import Nik
from infra.api_keys import ApiKeyStore, Role
from tools.bench.serving.encode import encode_costs
from tools.bench.serving.load import LoadResult, drive, median_of

LEDGER = str(Path(sys.executable).with_name("ledger"))
DISTRICT = "12.71.01"
VILLAGE = "12.71.01.1001"
MONTHLY_AT_1M = 16_800  # JKK 1% of Rp 1,000,000 + JKM Rp 6,800: the lowest bracket's dues


@dataclass(frozen=True)
class HttpBenchConfig:
    participants: int = 1_000
    months: int = 12
    concurrency: int = 8
    seconds: float = 5.0
    repeats: int = 3
    writers: int = 400  # fresh workers enrolled for the writes (each takes 13 payments)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _process(
    args: list[str],
    env: dict[str, str],
    log: Path,
    url: str,
    ready_path: str = "/healthz",
    timeout: float = 600,
) -> Iterator[None]:
    with log.open("wb") as sink:
        process = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait(url + ready_path, process, log, timeout)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited: {log.read_text()[-1500:]}")
        try:
            connection = http.client.HTTPConnection(
                target.hostname or "127.0.0.1", target.port, timeout=2
            )
            connection.request("GET", target.path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready in {timeout:.0f} s")


def run(workdir: Path, config: HttpBenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Seed a store, serve it and the bare endpoint, measure; the figures as a dict."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{workdir / 'ledger.db'}",
        "LEDGER_VAR_DIR": str(workdir / "var"),
        "LEDGER_API_KEYS_FILE": str(workdir / "api-keys.json"),
    }
    say(f"http: seeding {config.participants:,} participants x {config.months} months")
    subprocess.run(
        [
            LEDGER,
            "seed",
            "--participants",
            str(config.participants),
            "--months",
            str(config.months),
            "--seed",
            "1",
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=7200,
    )
    keys = ApiKeyStore(workdir / "api-keys.json")
    auth = {
        role: {"Authorization": f"Bearer {keys.add(role, 'bench')[0]}"}
        for role in (Role.AUDITOR, Role.COLLECTOR, Role.REGISTRAR)
    }
    api, bare = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        say("http: starting the servers (the API catches its read models up first)")
        stack.enter_context(
            _process(
                [LEDGER, "serve", "--port", api.rsplit(":", 1)[1]],
                env,
                workdir / "api.log",
                api,
                "/readyz",
            )
        )
        stack.enter_context(
            _process(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "tools.bench.serving.bare:create_bare_app",
                    "--factory",
                    "--port",
                    bare.rsplit(":", 1)[1],
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env,
                workdir / "bare.log",
                bare,
                "/bare",
            )
        )
        ids = _participants(api, auth[Role.AUDITOR], limit=2_000)
        writers = _enroll(api, auth[Role.REGISTRAR], config)
        say(f"http: {len(ids):,} participants to read, {len(writers):,} to pay for")
        measured = _measure(api, bare, auth, ids, writers, config, say)
        measured["encode_us"] = encode_costs(_statuses_of(api, auth[Role.AUDITOR], ids[:50]))
        say(f"http: encoding a status answer: {measured['encode_us']}")
        return measured


def _statuses_of(api: str, headers: dict[str, str], ids: list[str]) -> list[dict[str, Any]]:
    """Real status answers (from the events: the fuller shape) to encode."""
    bodies: list[dict[str, Any]] = []
    today = date.today().isoformat()

    def keep(_: int, status: int, body: bytes) -> None:
        if status == 200:
            bodies.append(orjson.loads(body))

    drive(
        "sample",
        api,
        lambda i: ("GET", f"/v1/participants/{ids[i]}/status?as_of={today}", None),
        concurrency=1,
        seconds=60,
        limit=len(ids),
        headers=headers,
        on_answer=keep,
    )
    return bodies


def _participants(api: str, headers: dict[str, str], limit: int) -> list[str]:
    found: list[str] = []
    after = 0

    def collect(_: int, status: int, body: bytes) -> None:
        nonlocal after
        page = orjson.loads(body)
        found.extend(e["originator_id"] for e in page["events"] if e["type"] == "Enrolled")
        after = page["next_after"]

    while len(found) < limit:
        before = after
        drive(
            "feed",
            api,
            lambda _: ("GET", f"/v1/events?after={after}&limit=1000", None),
            concurrency=1,
            seconds=60,
            limit=1,
            headers=headers,
            on_answer=collect,
        )
        if after == before:
            break
    return found[:limit]


def _enroll(api: str, headers: dict[str, str], config: HttpBenchConfig) -> list[str]:
    today = date.today().isoformat()
    ids: list[str] = []

    def body(index: int) -> tuple[str, str, bytes]:
        nik = Nik.compose(
            DISTRICT,
            date(1980, 1, 1) if index % 2 else date(1985, 6, 15),
            "M" if index % 2 else "F",
            5000 + index,
        ).digits
        row = {
            "nik": nik,
            "name": f"Bench Worker {index}",
            "sex": "M" if index % 2 else "F",
            "birth_date": "1980-01-01" if index % 2 else "1985-06-15",
            "village_code": VILLAGE,
            "occupation": "trader",
            "declared_income": 1_000_000,
            "programmes": ["JKK", "JKM"],
            "channel": "online",
            "enrolled_on": today,
        }
        return "POST", "/v1/participants", orjson.dumps(row)

    def keep(_: int, status: int, payload: bytes) -> None:
        if status in (200, 201):
            ids.append(orjson.loads(payload)["participant_id"])

    drive(
        "enroll",
        api,
        body,
        concurrency=4,
        seconds=600,
        limit=config.writers,
        headers=headers,
        on_answer=keep,
    )
    return ids


def _measure(
    api: str,
    bare: str,
    auth: dict[Role, dict[str, str]],
    ids: list[str],
    writers: list[str],
    config: HttpBenchConfig,
    say: Callable[[str], None],
) -> dict[str, Any]:
    chooser = random.Random(1)
    refs = itertools.count()
    capacity = 12 * len(writers) // max(config.repeats, 1)  # payments ahead stay within 12
    runs: dict[str, list[LoadResult]] = {"bare": [], "status": [], "contribution": []}
    today = date.today().isoformat()

    def status(_: int) -> tuple[str, str, None]:
        return "GET", f"/v1/participants/{chooser.choice(ids)}/status", None

    def contribution(_: int) -> tuple[str, str, bytes]:
        number = next(refs)  # round robin: a worker's next payment starts after its last
        who = writers[number % len(writers)]
        body = {
            "payment_ref": f"BENCH-{os.getpid()}-{number}",
            "amount": MONTHLY_AT_1M,
            "paid_on": today,
            "channel": "bank",
        }
        return "POST", f"/v1/participants/{who}/contributions", orjson.dumps(body)

    common: dict[str, Any] = {"concurrency": config.concurrency, "seconds": config.seconds}
    for repeat in range(config.repeats):
        runs["bare"].append(
            drive("bare", bare, lambda _: ("GET", "/bare", None), limit=10**9, **common)
        )
        runs["status"].append(
            drive("status", api, status, limit=10**9, headers=auth[Role.AUDITOR], **common)
        )
        runs["contribution"].append(
            drive(
                "contribution",
                api,
                contribution,
                limit=capacity,
                headers=auth[Role.COLLECTOR],
                **common,
            )
        )
        say(
            f"http: repeat {repeat + 1}: "
            + ", ".join(
                f"{name} {results[-1].rate:,.0f}/s p99 {results[-1].percentile(0.99):.1f} ms"
                for name, results in runs.items()
            )
        )
    summary = {name: median_of(results) for name, results in runs.items()}
    base = summary["bare"]["rate"]
    for name in ("status", "contribution"):
        summary[name]["ratio_to_bare"] = summary[name]["rate"] / base if base else None
        summary[name]["statuses"] = _statuses(runs[name])
    return {
        "config": config.__dict__,
        "participants_read": len(ids),
        "writers": len(writers),
        "results": summary,
    }


def _statuses(results: list[LoadResult]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for status, count in result.statuses.items():
            total[str(status)] = total.get(str(status), 0) + count
    return total
