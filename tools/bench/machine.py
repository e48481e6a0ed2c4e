"""Facts about the machine and the run, peak memory per phase, and profiles."""

from __future__ import annotations

import contextlib
import cProfile
import os
import platform
import pstats
import resource
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine_facts(postgres_url: str | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                facts["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        facts["eventsourcing"] = version("eventsourcing")
        facts["orjson"] = version("orjson")
    with contextlib.suppress(Exception):
        root = Path(__file__).resolve().parents[2]
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        if commit:
            facts["commit"] = commit + (" (with uncommitted changes)" if dirty else "")
    if postgres_url:
        try:
            import psycopg

            with psycopg.connect(postgres_url, connect_timeout=5) as conn:
                facts["postgresql"] = (conn.execute("SHOW server_version").fetchone() or ("?",))[0]
        except Exception as error:  # noqa: BLE001
            facts["postgresql"] = f"unavailable ({type(error).__name__})"
    facts["memory_method"] = memory_method()
    return facts


def _vm(field_name: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_method() -> str:
    if _vm("VmHWM") is not None and _reset_peak():
        return (
            "peak resident set (VmHWM) of the benchmark process, reset at the start of each "
            "phase through /proc/self/clear_refs; the PostgreSQL server's memory is not counted"
        )
    return (
        "ru_maxrss high-water mark of the process (not reset per phase: a phase shows 0 growth "
        "when an earlier phase peaked higher)"
    )


class PeakMemory:
    def __enter__(self) -> PeakMemory:
        self.resettable = _reset_peak()
        self.start = _vm("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.peak: float | None = None
        return self

    def __exit__(self, *_: object) -> None:
        hwm = _vm("VmHWM") if self.resettable else None
        self.peak = (
            hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )


def profile_top(fn: Callable[[], Any], limit: int = 12) -> list[dict[str, Any]]:
    """Run `fn` under cProfile; the functions with the most own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats.items()  # type: ignore[attr-defined]
    total = sum(v[2] for _, v in entries) or 1e-9
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _) in entries:
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls": calls,
                "own_s": round(tottime, 4),
                "own_share": round(tottime / total, 3),
                "cumulative_s": round(cumtime, 4),
            }
        )
    rows.sort(key=lambda r: -r["own_s"])
    return rows[:limit]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename.rsplit("/", 2)[-1] if "/" in filename else filename
