"""The HTTP benchmark's load generator and figures, without a server of ours: a tiny
threaded HTTP server on loopback answers, and the figures carry ratios to the baseline."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools.bench.serving.figures import figures
from tools.bench.serving.load import drive, median_of


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # the name http.server calls
        status = 200 if self.path == "/ok" else 404
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        return


def test_drive_counts_answers_by_status_and_stops_at_its_limit() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = drive(
            "t",
            url,
            lambda i: ("GET", "/ok" if i % 2 else "/no", None),
            concurrency=2,
            seconds=10,
            limit=40,
        )
    finally:
        server.shutdown()
    assert result.requests == 40
    assert result.statuses == {200: 20, 404: 20}
    assert result.rate > 0 and result.percentile(0.99) >= result.percentile(0.5)
    summary = median_of([result, result])
    assert summary["rates"] == [result.rate, result.rate] and summary["errors"] == 0


def test_figures_are_ratios_to_the_bare_endpoint() -> None:
    def row(rate: float, p50: float, p99: float) -> dict[str, object]:
        return {
            "rate": rate,
            "rates": [rate],
            "repeats": 1,
            "p50_ms": p50,
            "p99_ms": p99,
            "errors": 0,
            "statuses": {"200": 10},
        }

    result = {
        "config": {"participants": 1_000_000, "months": 24, "concurrency": 8, "seconds": 10.0},
        "results": {
            "bare": row(1000, 1, 2),
            "status": row(600, 2, 8),
            "contribution": row(100, 10, 50),
        },
    }
    by_name = {f.name: f for f in figures(result)}
    assert by_name["http_status_read_rate"].ratio == 0.6
    assert by_name["http_status_read_rate"].target_met is True
    assert by_name["http_status_read_p99_ms"].target_met is True
    assert by_name["http_contribution_write_p99_ms"].ratio == 25


def test_encode_costs_measures_both_encoders_on_the_same_answers() -> None:
    from tools.bench.serving.encode import encode_costs

    answer = {
        "participant_id": "p",
        "as_of": "2025-01-01",
        "status": "active",
        "programmes": ["JKK", "JKM"],
        "paid_through": "2025-03",
        "arrears_months": 0,
        "village": "12.71.01.1001",
        "enrolled_on": "2024-01-10",
        "open_claims": 0,
        "source": "events",
        "position": 7,
        "covered": True,
        "jht_balance": 0,
    }
    costs = encode_costs([answer], rounds=2, per_round=50)
    assert set(costs) == {"orjson", "pydantic"} and min(costs.values()) > 0
