"""The dashboard's SVG charts: round ticks that cover the data, escaped text, marks that
carry their numbers, and CSV tables that hold the same numbers."""

from __future__ import annotations

import csv
import io
import itertools
import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from api.http.dashboard.charts import Series, bars, columns, short, ticks
from api.http.dashboard.tables import Table

SVG = "{http://www.w3.org/2000/svg}"


@given(st.integers(-(10**9), 10**9), st.integers(0, 10**9))
def test_ticks_are_round_and_cover_the_range(low: int, span: int) -> None:
    high = low + span
    found = ticks(low, high)
    assert found[0] <= low and found[-1] >= high
    assert 2 <= len(found) <= 12
    steps = {round(b - a, 6) for a, b in itertools.pairwise(found)}
    assert len(steps) == 1


def test_short_tick_labels() -> None:
    assert [short(v) for v in (0, 12, 2500, 1_250_000, 70_000_000, -5000)] == [
        "0",
        "12",
        "2.5k",
        "1.25M",
        "70M",
        "-5k",
    ]


def marks(svg: str) -> dict[tuple[str, str], float]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return {
        (m.get("data-series", ""), m.get("data-label", "")): float(m.get("data-value", ""))
        for m in root.iter()
        if m.get("data-value") is not None
    }


def test_bars_escape_labels_link_regions_and_carry_values() -> None:
    svg = bars(
        "c",
        "Title <&>",
        "Desc",
        ["Kota A & B", "<script>"],
        [Series("change", [12, -7])],
        x_label="change (participants)",
        links=["/dashboard?period=2025-06&region=32", None],
    )
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "Title <&>"  # type: ignore[union-attr]
    assert root.get("role") == "img" and root.get("viewBox", "").startswith("0 0 ")
    assert marks(svg) == {("change", "Kota A & B"): 12, ("change", "<script>"): -7}
    assert "<script>" not in svg
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/dashboard?period=2025-06&region=32"]
    assert "change (participants)" in svg


def test_columns_draw_every_point_of_every_series() -> None:
    months = ["2025-01", "2025-02", "2025-03"]
    svg = columns(
        "p",
        "Active",
        "Desc",
        months,
        [Series("JKK", [1, 2, 3]), Series("JHT", [0, 5, 1])],
        x_label="month",
        y_label="active participants",
        lines=True,
    )
    assert marks(svg) == {
        ("JKK", "2025-01"): 1,
        ("JKK", "2025-02"): 2,
        ("JKK", "2025-03"): 3,
        ("JHT", "2025-01"): 0,
        ("JHT", "2025-02"): 5,
        ("JHT", "2025-03"): 1,
    }
    assert len(re.findall("<polyline", svg)) == 2
    empty = columns("e", "Nothing", "No data", [], [], x_label="month", y_label="participants")
    assert marks(empty) == {}


def test_a_table_as_csv() -> None:
    table = Table(
        "channels",
        "By channel",
        ("channel", "contributions (Rp)"),
        [("bank", 1_250_000), ("village, office", 3)],
    )
    assert list(csv.reader(io.StringIO(table.csv()))) == [
        ["channel", "contributions (Rp)"],
        ["bank", "1250000"],
        ["village, office", "3"],
    ]
