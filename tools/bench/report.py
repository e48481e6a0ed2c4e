"""The report model: figures, phases and everything a run records, as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    store: str = ""
    scale: int = 0  # participants of the scale this figure was measured in
    months: int = 0
    baseline_name: str = ""
    median: float | None = None
    spread: dict[str, float] | None = None
    runs: int = 1
    baseline_spread: dict[str, float] | None = None
    baseline_runs: int = 0
    higher_is_better: bool = True
    target: str | None = None
    target_met: bool | None = None
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Phase:
    store: str
    scale: int
    name: str
    seconds: float
    events: int = 0
    peak_rss_mb: float | None = None
    rss_growth_mb: float | None = None
    repeats: int = 1
    notes: str = ""


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started: str = ""
    finished: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "figures": [f.as_dict() for f in self.figures],
            "machine": self.machine,
            "config": self.config,
            "phases": [asdict(p) for p in self.phases],
            "profiles": self.profiles,
            "errors": self.errors,
            "started": self.started,
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            figures=[Figure(**f) for f in data.get("figures", [])],
            phases=[Phase(**p) for p in data.get("phases", [])],
            machine=data.get("machine", {}),
            config=data.get("config", {}),
            profiles=data.get("profiles", {}),
            errors=data.get("errors", []),
            started=data.get("started", ""),
            finished=data.get("finished"),
        )


def keep_earlier(report: Report, previous: Report, measuring: set[tuple[str, int]]) -> None:
    """Put into `report` (before its own figures) the figures and phases of `previous`
    for the (store, scale) pairs not in `measuring`, and record which run measured them
    (a run in parts may have several sources)."""
    # `ledger bench --http` alone measures the HTTP figures: a suite run keeps them as they are
    report.figures[:0] = [
        f
        for f in previous.figures
        if (f.store, f.scale) not in measuring or f.name.startswith("http_")
    ]
    if "http" in previous.config:
        report.config.setdefault("http", previous.config["http"])
    report.phases[:0] = [p for p in previous.phases if (p.store, p.scale) not in measuring]
    kept = {f"{f.store} {f.scale}" for f in previous.figures if (f.store, f.scale) not in measuring}
    if not kept:
        return
    report.config["kept_from_previous"] = sorted(
        kept | set(report.config.get("kept_from_previous") or [])
    )
    earlier = previous.config.get("earlier_runs") or []
    this = {
        "mode": previous.config.get("mode"),
        "started": previous.started,
        "finished": previous.finished,
        "commit": previous.machine.get("commit"),
        "measured": sorted(
            {f"{f.store} {f.scale}" for f in previous.figures}
            - set(previous.config.get("kept_from_previous") or [])
        ),
    }
    report.config["earlier_runs"] = [
        *(report.config.get("earlier_runs") or []),
        *(
            {**run, "measured": sorted(set(run.get("measured") or []) & kept)}
            for run in [*earlier, this]
            if set(run.get("measured") or []) & kept
        ),
    ]


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
