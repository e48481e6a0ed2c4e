"""How long the coverage dashboard takes to answer, at each level of region.

Two stores, both SQLite (the embedded default), timed the same way (median of runs, the
figures' queries plus the page's HTML, in-process):

- `--participants N`: a store seeded with N participants (`infra.seed`), caught up.
- `--villages N`: the read models filled as a store of N villages would fill them,
  whatever its participants: every village with a row in every month, and two channels
  (one with a field agent) per village and month. The dashboard's tables are
  sums per village, month, channel and agent, so their size is bounded by the villages,
  not by the participants. The seed spreads 1M participants over 5,000 to 20,000
  villages (`--villages 20000` is its worst case); the whole nation has 83,762
  (`--villages 83762`, the bound for 70M participants as for 1M).

    .venv/bin/python scripts/dashboard_timing.py --participants 10000 --villages 20000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from api.http.dashboard.page import dashboard_page
from api.http.dashboard.tables import tables
from api.services.dashboard import dashboard, forget_figures
from domain.regions import villages_by_province
from domain.values import Period
from infra.bootstrap import System, build_system
from infra.settings import Settings
from projections.queries import coverage
from tools.seed import seed_population

RUNS = 7
PERIOD = Period.of(2025, 6)


def median_ms(work: Callable[[], object], runs: int = RUNS) -> float:
    work()  # warm the page cache and the region names once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_for(system: System, region: str, cold: bool = True) -> str:
    """The figures and the page's HTML, as `GET /dashboard` makes them; `cold`: computed
    afresh, not from the figures cached for this position."""
    if cold:
        forget_figures()
    answer = dashboard(system, period=str(PERIOD), region=region)
    return dashboard_page(answer, tables(answer), "reporter", False)


def regions_of(village: str) -> list[tuple[str, str]]:
    return [
        ("nation", ""),
        ("province", village[:2]),
        ("regency", village[:5]),
        ("district", village[:8]),
        ("village", village),
    ]


def report(label: str, system: System, village: str) -> None:
    """The page at each level, beside a baseline timed in the same run: the coverage
    query `GET /v1/coverage?level=province` runs (one month's rows of the nation)."""
    print(f"\n{label}")
    views = system.views
    baseline = median_ms(lambda: coverage(views, period=PERIOD, level="province"))
    print(f"  baseline: the coverage query by province, {baseline:.1f} ms")
    for level, region in regions_of(village):
        ms = median_ms(lambda r=region: page_for(system, r))  # type: ignore[misc]
        warm = median_ms(lambda r=region: page_for(system, r, cold=False))  # type: ignore[misc]
        print(
            f"  {level:<9} {region or '-':<14} {ms:8.1f} ms (median of {RUNS}), "
            f"{ms / baseline:.1f}x the baseline; again at the same position {warm:.1f} ms"
        )
    counts = {
        table: views.query(f"SELECT count(*) FROM {table}_g1")[0][0]
        for table in ("coverage_monthly", "coverage_flows", "coverage_activity")
    }
    print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))


def seeded(folder: Path, participants: int) -> None:
    settings = Settings(database_url=f"sqlite:///{folder / 'ledger.db'}", var_dir=folder / "var")
    with build_system(settings) as system:
        views = system.views
        started = time.perf_counter()
        seed_population(
            system.ledger, participants=participants, months=24, seed=10, end=date(2025, 6, 30)
        )
        system.runner.catch_up()
        print(
            f"seeded and projected {participants:,} participants in "
            f"{time.perf_counter() - started:.0f} s"
        )
        busiest = views.query(
            "SELECT village FROM coverage_monthly_g1 WHERE month = ? ORDER BY active DESC LIMIT 1",
            (PERIOD.index,),
        )[0][0]
        report(f"seeded store, {participants:,} participants", system, busiest)


def national(folder: Path, count: int) -> None:
    settings = Settings(database_url=f"sqlite:///{folder / 'ledger.db'}", var_dir=folder / "var")
    with build_system(settings) as system:
        views = system.views
        system.new_runner()  # makes the projections' (empty) tables
        villages = [v for codes in villages_by_province().values() for v in codes]
        rng = random.Random(7)
        if count < len(villages):
            villages = sorted(rng.sample(villages, count))
        months = range(PERIOD.index - 23, PERIOD.index + 1)
        started = time.perf_counter()
        filled = views.query("SELECT count(*) FROM coverage_monthly_g1")[0][0]
        with views.transaction() as tx:
            if filled:  # a kept folder: filled by an earlier run
                months = range(0)
            for month in months:
                monthly, flows, activity = [], [], []
                for v in villages:
                    active = rng.randint(50, 1500)
                    monthly.append((month, v, active, active, active, active // 5))
                    flows.append(
                        (month, v, rng.randint(0, 20), rng.randint(0, 30), rng.randint(0, 10))
                    )
                    agent = f"AG-{v[:5].replace('.', '')}-{rng.randint(1, 12):03d}"
                    activity.append((month, v, "bank", "", 0, active // 2, active * 8400, 0, 0, 0))
                    activity.append(
                        (
                            month,
                            v,
                            "perisai",
                            agent,
                            rng.randint(0, 9),
                            active // 2,
                            active * 8400,
                            0,
                            0,
                            0,
                        )
                    )
                tx.executemany("INSERT INTO coverage_monthly_g1 VALUES (?, ?, ?, ?, ?, ?)", monthly)
                tx.executemany("INSERT INTO coverage_flows_g1 VALUES (?, ?, ?, ?, ?)", flows)
                tx.executemany(
                    "INSERT INTO coverage_activity_g1 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    activity,
                )
        if months:
            print(
                f"\nfilled {len(villages):,} villages x {len(months)} months in "
                f"{time.perf_counter() - started:.0f} s"
            )
        report(f"{len(villages):,} villages, 24 months", system, villages[len(villages) // 3])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=0)
    parser.add_argument(
        "--villages",
        type=int,
        default=0,
        help="fill the read models for this many villages (83762: all of them)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the stores in this folder (and reuse the national one on the next run)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dashboard-timing-") as temporary:
        folder = args.keep or Path(temporary)
        if args.participants:
            path = Path(folder) / "seeded"
            path.mkdir(parents=True)
            seeded(path, args.participants)
        if args.villages:
            path = Path(folder) / f"villages-{args.villages}"
            path.mkdir(parents=True, exist_ok=True)
            national(path, args.villages)


if __name__ == "__main__":
    main(sys.argv[1:])
