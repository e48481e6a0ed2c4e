"""The benchmark suite end to end on a tiny scale, both stores: every figure the report
promises is measured beside its same-run baseline, and nothing fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.bench import Report, render_markdown, run_suite
from tests.conftest import require_postgres

RATIOS = ("ingest_single_vs_naive", "ingest_single_serial_vs_naive", "ingest_bulk_vs_raw_sqlite",
          "catch_up_vs_decode_loop", "rebuild_vs_decode_loop")


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_tiny_run_measures_every_figure_against_its_baseline(store: str, tmp_path: Path) -> None:
    url = require_postgres() if store == "postgres" else None
    lines: list[str] = []
    report: Report = run_suite(True, [60], [store], 1, tmp_path, lines.append, months=3,
                               postgres_url=url, profile=False)

    assert report.errors == []
    figures = {f.name: f for f in report.figures if f.store == store}
    for name in RATIOS:
        figure = figures[name]
        assert figure.value and figure.value > 0, name
        assert figure.baseline and figure.baseline > 0, name
        assert figure.ratio == pytest.approx(figure.value / figure.baseline, rel=1e-3), name
    assert figures["status_read_p99_ms"].value is not None
    assert figures["store_bytes_per_event"].value is not None
    grouped = figures["ingest_single_vs_naive"]
    assert "commands per transaction" in grouped.notes and "40 concurrent callers" in grouped.notes
    assert any("grouped" in line and "commands per commit" in line for line in lines)
    text = render_markdown(report)
    assert "### ingest_single_serial_vs_naive" in text and "### ingest_single_vs_naive" in text
