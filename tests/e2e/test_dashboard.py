"""The coverage dashboard in a real browser: Debian's headless Chromium, driven by
Playwright, against `ledger serve` (uvicorn) on a free port over a seeded SQLite store.

One server, one store and one browser for the whole session; each test opens its own
browser context (its own cookies). The browser runs with background networking off, and
every request it makes is recorded: none may leave 127.0.0.1.

`LEDGER_SCREENSHOT_DIR=docs` (what `make screenshots` sets) writes the README's
screenshots there; otherwise they go to a temporary folder and are only checked.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from infra.api_keys import ApiKeyStore, Role
from infra.bootstrap import build_system
from infra.settings import Settings
from tests.conftest import IN_CI, TEST_MASTER_KEY, TEST_PEPPER
from tools.seed import SeedReport, plan_population, seed_population

LEDGER = str(Path(sys.executable).with_name("ledger"))
CHROMIUM = "/usr/bin/chromium"
PERIOD = "2025-06"
SEED_END = date(2025, 6, 30)
PARTICIPANTS = 1000
# Chromium's own calls home are off: with them the closed network refuses many
# connections at every start (../.library machine notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
]
TABLES = ("target", "programmes", "flows", "children", "channels", "agents", "log")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Seeded:
    """A seeded store, the environment naming it, one API key per role."""

    env: dict[str, str]
    keys: dict[Role, str]
    report: SeedReport
    names: list[str]


@dataclass
class Server:
    url: str
    seeded: Seeded
    clients: dict[Role, httpx.Client] = field(default_factory=dict)

    def client(self, role: Role) -> httpx.Client:
        if role not in self.clients:
            self.clients[role] = httpx.Client(
                base_url=self.url,
                timeout=30,
                headers={"Authorization": f"Bearer {self.seeded.keys[role]}"},
            )
        return self.clients[role]

    def figures(self, region: str = "") -> dict[str, Any]:
        params = {"period": PERIOD, **({"region": region} if region else {})}
        answer = self.client(Role.REPORTER).get("/v1/dashboard", params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    folder = tmp_path_factory.mktemp("dashboard")
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{folder / 'ledger.db'}",
        "LEDGER_VAR_DIR": str(folder / "var"),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "LEDGER_API_KEYS_FILE": str(folder / "api-keys.json"),
    }
    settings = Settings(
        database_url=env["LEDGER_DATABASE_URL"],
        var_dir=folder / "var",
        nik_pepper=TEST_PEPPER,
        master_key=TEST_MASTER_KEY,
    )
    with build_system(settings) as system:
        plan = plan_population(
            participants=PARTICIPANTS, months=18, seed=18, end=SEED_END, rules=system.ledger.rules
        )
        report = seed_population(
            system.ledger, participants=PARTICIPANTS, months=18, seed=18, end=SEED_END, plan=plan
        )
        system.runner.catch_up()
    store = ApiKeyStore(folder / "api-keys.json")
    keys = {role: store.add(role, "dashboard e2e")[0] for role in Role}
    return Seeded(env, keys, report, [p.name for p in plan.people])


@pytest.fixture(scope="session")
def server(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard-server") / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [LEDGER, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=seeded.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = Server(f"http://127.0.0.1:{port}", seeded)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                if httpx.get(running.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, started once for the session."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Visit:
    """A browser tab with everything it asked for and everything it complained about."""

    page: Any
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Any) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = Visit(page)
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on(
        "console",
        lambda m: (
            seen.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: seen.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: seen.problems.append(f"failed: {r.url}"))
    try:
        yield seen
    finally:
        context.close()


def sign_in(visit: Visit, server: Server, role: Role = Role.REPORTER) -> None:
    page = visit.page
    page.goto(server.url + "/")
    page.fill("#api_key", server.seeded.keys[role])
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")


def open_dashboard(visit: Visit, server: Server, region: str = "") -> None:
    query = f"?period={PERIOD}" + (f"&region={region}" if region else "")
    visit.page.goto(server.url + "/dashboard" + query)


def page_tables(page: Any) -> dict[str, list[list[str]]]:
    """Every "show data" table on the page, as text cells, by chart."""
    found: dict[str, list[list[str]]] = page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('details[data-table]')].map(d => [d.dataset.table,
          [...d.querySelectorAll('tbody tr')].map(tr =>
            [...tr.querySelectorAll('td')].map(td => td.textContent))]))""")
    return found


def chart_marks(page: Any) -> dict[str, dict[tuple[str, str], float]]:
    """Every chart's marks: {chart id: {(series, label): value}}."""
    marks: list[list[Any]] = page.evaluate("""() => [...document.querySelectorAll(
        'svg.chart [data-value]')].map(m => [m.closest('svg').id, m.dataset.series,
        m.dataset.label, Number(m.dataset.value)])""")
    found: dict[str, dict[tuple[str, str], float]] = {}
    for chart, series, label, value in marks:
        found.setdefault(chart, {})[(series, label)] = value
    return found


def num(text: str) -> float:
    return float(text.replace(",", ""))


def expected_tables(figures: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """What each table must hold, straight from the API's JSON (numbers as numbers)."""
    t = figures["target"]
    target: list[list[Any]] = [[t["target"]], [t["nation_active"]], [round(t["progress"] * 100, 4)]]
    if figures["region"]:
        target += [[t["region_active"]], [round(t["region_share"] * 100, 4)]]
    children = sorted(figures["children"], key=lambda r: (-r["active"], r["region"]))
    return {
        "target": target,
        "programmes": [
            [m["period"], m["active"], *m["by_programme"].values()] for m in figures["months"]
        ],
        "flows": [
            [m["period"], m["joined"], m["lapsed"], m["reinstated"]] for m in figures["months"]
        ],
        "children": [[r["region"], r["active"], r["previous"], r["change"]] for r in children],
        "channels": [
            [c["channel"], c["enrollments"], c["contributions"], c["contribution_amount"]]
            for c in figures["channels"]
        ],
        "agents": [
            [a["agent_id"], a["enrollments"], a["contributions"], a["contribution_amount"]]
            for a in figures["agents"]
        ],
        "log": [[figures["head"]], [figures["position"]], [figures["lag"]]],
    }


def as_read(table: str, rows: list[list[str]]) -> list[list[Any]]:
    """The page's cells in the shape of `expected_tables` (labels dropped where they are
    prose, numbers parsed)."""
    if table in ("target", "log"):
        return [[num(r[1])] for r in rows]
    if table == "children":
        return [[r[0], *(num(c) for c in r[2:])] for r in rows]
    if table in ("programmes", "flows", "channels", "agents"):
        return [[r[0], *(num(c) for c in r[1:])] for r in rows]
    raise AssertionError(table)


def assert_page_matches_api(visit: Visit, server: Server, region: str) -> dict[str, Any]:
    figures = server.figures(region)
    page = visit.page
    read = page_tables(page)
    assert set(read) == set(TABLES)
    expected = expected_tables(figures)
    for table in TABLES:
        rows = [r for r in read[table] if len(r) > 1]  # not the "no figures" row
        assert as_read(table, rows) == expected[table], table
        # The CSV download holds the same numbers as the table.
        params = {"period": PERIOD, **({"region": region} if region else {})}
        answer = server.client(Role.AUDITOR).get(f"/v1/dashboard/{table}.csv", params=params)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        csv_rows = list(csv.reader(io.StringIO(answer.text)))[1:]
        assert as_read(table, csv_rows) == expected[table], f"{table}.csv"
    marks = chart_marks(page)
    months = figures["months"]
    for programme in ("JKK", "JKM", "JHT"):
        assert [marks["chart-programmes"][(programme, m["period"])] for m in months] == [
            m["by_programme"][programme] for m in months
        ]
    for flow in ("joined", "lapsed", "reinstated"):
        assert [marks["chart-flows"][(flow, m["period"])] for m in months] == [
            m[flow] for m in months
        ]
    t = figures["target"]
    assert marks["chart-target"][("participants", "National target")] == t["target"]
    assert marks["chart-target"][("participants", "Active, Indonesia")] == t["nation_active"]
    for child in figures["children"]:
        label = child["name"] or child["region"]
        assert (
            marks["chart-children-active"].get(("active participants", label), child["active"])
            == child["active"]
        )
        assert (
            marks["chart-children-change"].get(("change", label), child["change"])
            == child["change"]
        )
    top = max(figures["children"], key=lambda r: (r["active"], r["region"]), default=None)
    if top is not None:
        label = top["name"] or top["region"]
        assert marks["chart-children-active"][("active participants", label)] == top["active"]
    for c in figures["channels"]:
        assert marks["chart-channels"][("enrollments", c["channel"])] == c["enrollments"]
        assert marks["chart-channels"][("contributions", c["channel"])] == c["contributions"]
        assert (
            marks["chart-channel-amounts"][("contributions (Rp)", c["channel"])]
            == c["contribution_amount"]
        )
    for a in figures["agents"]:
        assert marks["chart-agents"][("enrollments", a["agent_id"])] == a["enrollments"]
    assert marks["chart-log"][("position", "figures reflect")] == figures["position"]
    return figures


def assert_stayed_local(visit: Visit, key: str) -> None:
    assert visit.requests, "the page made no requests at all"
    for url in visit.requests:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "data") and (
            parts.scheme == "data" or parts.hostname == "127.0.0.1"
        ), url
        assert key not in url, "the API key appeared in a URL"
    assert visit.problems == []


def test_sign_in_sets_a_safe_cookie_and_the_page_loads_cleanly(
    visit: Visit, server: Server
) -> None:
    sign_in(visit, server)
    cookies = visit.page.context.cookies()
    assert [c["name"] for c in cookies] == ["ledger_dashboard"]
    cookie = cookies[0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert server.seeded.keys[Role.REPORTER] not in cookie["value"]
    open_dashboard(visit, server)
    assert visit.page.locator("h1").inner_text().startswith("Coverage dashboard: Indonesia")
    # Every chart has a title, a description and axis labels naming units.
    charts = visit.page.locator("svg.chart")
    assert charts.count() == 9
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.evaluate("s => s.querySelector(':scope > title').textContent.length") > 5
        assert chart.evaluate("s => s.querySelector(':scope > desc').textContent.length") > 5
    assert_stayed_local(visit, server.seeded.keys[Role.REPORTER])
    # Signing out ends the session.
    visit.page.click("form.push button")
    visit.page.wait_for_selector("#api_key")
    assert visit.page.context.cookies() == []


def test_each_chart_has_the_numbers_the_api_gives(visit: Visit, server: Server) -> None:
    sign_in(visit, server)
    open_dashboard(visit, server)
    figures = assert_page_matches_api(visit, server, "")
    assert figures["target"]["nation_active"] > 0 and figures["children"]
    assert any(m["lapsed"] for m in figures["months"])
    assert figures["lag"] == 0 and figures["position"] == figures["head"] > 0
    assert_stayed_local(visit, server.seeded.keys[Role.REPORTER])


def test_clicking_a_province_narrows_every_chart_to_it(visit: Visit, server: Server) -> None:
    sign_in(visit, server)
    open_dashboard(visit, server)
    nation = server.figures()
    province = max(nation["children"], key=lambda r: (r["active"], r["region"]))
    # Click the province's bar label in the ranking chart (an SVG link).
    visit.page.locator(f"#chart-children-active a[href$='region={province['region']}']").click()
    visit.page.wait_for_url(f"**region={province['region']}")
    query = parse_qs(urlsplit(visit.page.url).query)
    assert query == {"period": [PERIOD], "region": [province["region"]]}
    narrowed = assert_page_matches_api(visit, server, province["region"])
    assert narrowed["months"][-1]["active"] == province["active"]
    assert narrowed["target"]["region_active"] == province["active"]
    assert 0 < narrowed["target"]["region_share"] <= 1
    assert all(c["region"].startswith(province["region"] + ".") for c in narrowed["children"])
    assert sum(c["active"] for c in narrowed["children"]) == province["active"]
    assert sum(c["enrollments"] for c in narrowed["channels"]) <= sum(
        c["enrollments"] for c in nation["channels"]
    )
    # And down again: a regency of that province.
    regency = max(narrowed["children"], key=lambda r: (r["active"], r["region"]))["region"]
    visit.page.locator(f"#chart-children-active a[href$='region={regency}']").click()
    visit.page.wait_for_url(f"**region={regency}")
    assert_page_matches_api(visit, server, regency)
    assert "Indonesia" in visit.page.locator("nav.trail").inner_text()
    assert_stayed_local(visit, server.seeded.keys[Role.REPORTER])


def test_bearer_header_roles_and_no_personal_data(server: Server) -> None:
    anonymous = httpx.get(server.url + "/v1/dashboard", params={"period": PERIOD})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    registrar = server.client(Role.REGISTRAR)
    assert registrar.get("/v1/dashboard", params={"period": PERIOD}).status_code == 403
    assert registrar.get("/dashboard").status_code == 403
    assert httpx.get(server.url + "/dashboard").status_code == 200  # the sign-in form
    for role in (Role.REPORTER, Role.AUDITOR, Role.ADMIN):
        page = server.client(role).get("/dashboard", params={"period": PERIOD})
        assert page.status_code == 200 and "chart-programmes" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
    bad = server.client(Role.REPORTER).get("/v1/dashboard", params={"region": "99.99"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_region"
    # Nothing about any one worker: no NIK, no name on the page, in the JSON or a CSV.
    reporter = server.client(Role.ADMIN)
    province = server.figures()["children"][0]["region"]
    texts = [
        reporter.get("/dashboard", params={"period": PERIOD, "region": province}).text,
        reporter.get("/v1/dashboard", params={"period": PERIOD}).text,
        *(reporter.get(f"/v1/dashboard/{t}.csv", params={"period": PERIOD}).text for t in TABLES),
    ]
    everything = "\n".join(texts)
    assert not [nik for nik in server.seeded.report.niks if nik in everything]
    assert not [
        name
        for name in server.seeded.names
        if f">{name}<" in everything or f'"{name}"' in everything
    ]
    assert not [pid for pid in server.seeded.report.participant_ids if str(pid) in everything]


def test_usable_at_360_px_and_screenshots(browser: Any, server: Server, tmp_path: Path) -> None:
    folder = Path(os.environ.get("LEDGER_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {server.seeded.keys[Role.REPORTER]}"}
    for width in (1280, 360):
        context = browser.new_context(
            viewport={"width": width, "height": 800}, extra_http_headers=headers
        )
        try:
            page = context.new_page()
            problems: list[str] = []
            page.on(
                "console", lambda m, p=problems: p.append(m.text) if m.type == "error" else None
            )
            page.goto(f"{server.url}/dashboard?period={PERIOD}")
            # Nothing wider than the screen: no sideways scrolling of the page itself.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            widths = page.evaluate(
                "[...document.querySelectorAll('svg.chart')]"
                ".map(s => s.getBoundingClientRect().width)"
            )
            assert widths and max(widths) <= width
            assert problems == []
            shot = folder / f"dashboard-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            context.close()


# --- the API's documentation pages, in the same browser: from this server, not a CDN -----

DOCS = "/docs"


def test_the_docs_page_loads_everything_from_this_server(server: Server) -> None:
    page = httpx.get(server.url + DOCS, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'', page.text)
    urls = sorted({a or b for a, b in assets})
    assert "/openapi.json" in urls and any(u.endswith(".js") for u in urls), urls
    assert any(u.endswith(".css") for u in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        answer = httpx.get(server.url + url, timeout=30)
        assert answer.status_code == 200, url
        assert len(answer.content) > 1000, url
    # ReDoc is off: its page fetches its maker's logo from the internet whatever it is told.
    assert httpx.get(server.url + "/redoc", timeout=30).status_code == 404


def test_the_docs_page_renders_in_a_browser_without_leaving_this_host(
    visit: Visit, server: Server
) -> None:
    visit.page.goto(server.url + DOCS)
    operations = visit.page.locator(".opblock")
    operations.first.wait_for(timeout=30_000)
    assert operations.count() >= 20  # every documented operation is shown
    assert visit.page.locator(".opblock-summary-path", has_text="/v1/dashboard").count() >= 1
    assert any(urlsplit(u).path == "/openapi.json" for u in visit.requests)
    assert_stayed_local(visit, server.seeded.keys[Role.ADMIN])
