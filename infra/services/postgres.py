"""The local PostgreSQL (Debian's package) for `ledger services start|stop|status postgres`.

Starting goes through `scripts/ensure-postgres.sh`, the same script `make test` and CI run
(installs the package if missing, starts the cluster on 127.0.0.1, creates the role and
test database); stopping and status use the cluster tools the package installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infra.services.kafka import ServiceError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-postgres.sh"


def start(port: int = 5432) -> str:
    """Start (installing if need be); returns the test database URL the script prints."""
    if not SCRIPT.exists():
        raise ServiceError(f"{SCRIPT} is missing (run from a checkout of the repository)")
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGPORT": str(port)},
        timeout=600,
    )
    if done.returncode != 0:
        raise ServiceError("starting PostgreSQL failed:\n" + done.stderr[-2000:])
    return done.stdout.strip().partition("=")[2]


def clusters() -> list[tuple[str, str, str, str]]:
    """(version, name, port, status) of every local cluster."""
    if shutil.which("pg_lsclusters") is None:
        return []
    done = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    return [
        tuple(line.split()[:4])  # type: ignore[misc]
        for line in done.stdout.splitlines()
        if len(line.split()) >= 4
    ]


def stop() -> bool:
    """Stop every running local cluster; returns whether one was running."""
    stopped = False
    for version, name, _port, status in clusters():
        if status.startswith("online"):
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop"],
                check=True,
                capture_output=True,
            )
            stopped = True
    return stopped


def status() -> str:
    found = clusters()
    if not found:
        return "not installed"
    return ", ".join(f"{v}/{n} on port {p}: {s}" for v, n, p, s in found)
