"""The dashboard's HTML: written out in Python with every value escaped, no template
engine and no script. The charts come from `charts`, their numbers from `tables`."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from api.http.dashboard import charts
from api.http.dashboard.charts import Series
from api.http.dashboard.tables import Table, percent
from api.services.dashboard import Dashboard

PAGE = "/dashboard"
RANKED = 15
PLURAL = {
    "province": "provinces",
    "regency": "regencies",
    "district": "districts",
    "village": "villages",
}  # children shown in each ranking chart (all of them are in its table)

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1b1b1b;background:#f4f5f7}
header{background:#123c69;color:#fff;padding:.8rem 1rem}
header h1{margin:0;font-size:1.3rem}
header a{color:#fff}
main{max-width:1280px;margin:0 auto;padding:1rem;display:grid;gap:1rem;
 grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr))}
section{background:#fff;border:1px solid #d8dbe0;border-radius:6px;padding:.8rem 1rem;
 min-width:0}
section h2{font-size:1.05rem;margin:.1rem 0 .5rem}
.wide{grid-column:1/-1}
.pair{display:grid;gap:.5rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr))}
.pair>div{min-width:0}
svg.chart{width:100%;height:auto;display:block}
nav.trail{font-size:.95rem;margin:.3rem 0 0}
nav.trail a{color:#fff}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:.85rem}
input,button{font:inherit;padding:.3rem .5rem}
details{margin-top:.5rem}
summary{cursor:pointer;color:#0b5cad}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0}
th,td{border:1px solid #d8dbe0;padding:.2rem .45rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
caption{text-align:left;font-weight:600;padding:.2rem 0}
.note{color:#555;font-size:.85rem}
.error{background:#fde8e8;border:1px solid #d55e00;padding:.5rem;border-radius:4px}
.signin{max-width:420px;margin:3rem auto}
@media (max-width:480px){main{padding:.4rem;gap:.5rem}section{padding:.5rem}
 header h1{font-size:1.1rem}}
.full{width:100%}
.push{float:right;margin-top:-2.3rem}
"""


def link(period: str, region: str) -> str:
    """The page for a month and region (the region's code; '' for the nation)."""
    query = {"period": period, **({"region": region} if region else {})}
    return f"{PAGE}?{urlencode(query)}"


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/dashboard/dashboard.css">'
        '<link rel="icon" href="data:,">'
        f"</head><body>{body}</body></html>"
    )


def sign_in_page(message: str | None = None) -> str:
    """The sign-in form: the key goes in a POST body, never in a URL."""
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return _document(
        "Sign in: coverage dashboard",
        (
            "<header><h1>Coverage dashboard</h1></header>"
            '<main><section class="signin wide"><h2>Sign in</h2>'
            + error
            + f'<form method="post" action="{PAGE}/sign-in">'
            '<label for="api_key">API key (reporter, auditor or admin)</label><br>'
            '<input id="api_key" name="api_key" type="password" autocomplete="off" required '
            'class="full">'
            '<p><button type="submit">Sign in</button></p></form>'
            '<p class="note">Scripts may send the key as <code>Authorization: Bearer</code> '
            "instead.</p></section></main>"
        ),
    )


def message_page(title: str, message: str) -> str:
    return _document(
        title,
        f"<header><h1>Coverage dashboard</h1></header><main>"
        f'<section class="wide"><h2>{escape(title)}</h2>'
        f'<p class="error" role="alert">{escape(message)}</p>'
        f'<p><a href="{PAGE}">Back to the dashboard</a></p>'
        "</section></main>",
    )


def _table(table: Table, csv_href: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.headers)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(charts.number(c) if isinstance(c, int | float) else c)}</td>" for c in row
        )
        + "</tr>"
        for row in table.rows
    )
    empty = (
        ""
        if table.rows
        else (
            f'<tr><td colspan="{len(table.headers)}">'
            "No figures for this month and region.</td></tr>"
        )
    )
    return (
        f'<details data-table="{table.name}"><summary>Show data</summary>'
        f'<div class="scroll"><table><caption>{escape(table.caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}{empty}</tbody></table></div>"
        f'<a href="{escape(csv_href)}" download>Download CSV</a></details>'
    )


def _section(
    name: str,
    title: str,
    figures: list[str],
    table: Table,
    csv_href: str,
    wide: bool = False,
    note: str = "",
) -> str:
    klass = ' class="wide"' if wide else ""
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    drawn = "".join(f"<div>{f}</div>" for f in figures)
    return (
        f'<section id="{name}"{klass} aria-labelledby="{name}-h">'
        f'<h2 id="{name}-h">{escape(title)}</h2>{extra}<div class="pair">{drawn}</div>'
        + _table(table, csv_href)
        + "</section>"
    )


def dashboard_page(d: Dashboard, found: dict[str, Table], role: str, signed_in: bool) -> str:
    """The whole page for one month and region."""

    def csv(name: str) -> str:
        query = {"period": d.period, **({"region": d.region} if d.region else {})}
        return f"/v1/dashboard/{name}.csv?{urlencode(query)}"

    trail = " › ".join(
        f'<a href="{escape(link(d.period, step["region"]))}">{escape(step["name"])}</a>'
        if step["region"] != d.region
        else f'<span aria-current="page">{escape(step["name"])}</span>'
        for step in d.trail
    )
    sign_out = (
        (
            f'<form method="post" action="{PAGE}/sign-out" class="push">'
            '<button type="submit">Sign out</button></form>'
        )
        if signed_in
        else ""
    )
    filters = (
        f'<section class="wide"><form class="filters" method="get" action="{PAGE}">'
        f'<label>Month<input type="month" name="period" value="{escape(d.period)}" required>'
        "</label>"
        f'<label>Region code<input name="region" value="{escape(d.region)}" '
        'placeholder="nation, or 32, 32.76 ..." inputmode="decimal" size="14"></label>'
        f'<button type="submit">Show</button></form>{sign_out}'
        f'<p class="note" id="as-of">Figures as of log position <b>{charts.number(d.position)}'
        f"</b> (log head {charts.number(d.head)}, projections {charts.number(d.lag)} events "
        f"behind). Signed in as {escape(role)}. Click a region to narrow every chart to it."
        "</p></section>"
    )
    t = d.target
    name = d.region_name
    target_labels = ["National target", "Active, Indonesia"] + (
        [f"Active, {name}"] if d.region else []
    )
    target_values = [t["target"], t["nation_active"]] + ([t["region_active"]] if d.region else [])
    share = (
        f" {name} holds {percent(t['region_share'])}% of the nation's active participants."
        if d.region
        else ""
    )
    months = [m["period"] for m in d.months]
    by_active = sorted(d.children, key=lambda r: (-r["active"], r["region"]))[:RANKED]
    by_change = sorted(d.children, key=lambda r: (-r["change"], r["region"]))
    if len(by_change) > RANKED:
        by_change = by_change[: RANKED // 2 + 1] + by_change[-(RANKED // 2) :]
    below = PLURAL.get(d.child_level or "", "regions")
    sections = [
        _section(
            "target",
            f"Progress to the national target of {charts.number(t['target'])}",
            [
                charts.bars(
                    "chart-target",
                    "Active participants against the national target",
                    f"{charts.number(t['nation_active'])} active in {d.period}, "
                    f"{percent(t['progress'])}% of the target.{share}",
                    target_labels,
                    [Series("participants", target_values)],
                    x_label="participants",
                )
            ],
            found["target"],
            csv("target"),
            note=f"{percent(t['progress'])}% of the target reached in {d.period}.{share}",
        ),
        _section(
            "programmes",
            f"Active participants by programme, {name}",
            [
                charts.columns(
                    "chart-programmes",
                    f"Active participants by programme, {name}",
                    f"JKK, JKM and JHT participants with the month paid, "
                    f"{months[0]} to {months[-1]}.",
                    months,
                    [
                        Series(p, [m["by_programme"][p] for m in d.months])
                        for p in ("JKK", "JKM", "JHT")
                    ],
                    x_label="month",
                    y_label="active participants",
                    lines=True,
                )
            ],
            found["programmes"],
            csv("programmes"),
            note="JKK and JKM are mandatory for every participant: where their lines "
            "coincide, the dashes tell them apart.",
        ),
        _section(
            "flows",
            f"Joins, lapses and reinstatements, {name}",
            [
                charts.columns(
                    "chart-flows",
                    f"Joins, lapses and reinstatements, {name}",
                    "Participants whose cover started, whose membership lapsed after "
                    "the grace months, and who paid again after a lapse, per month.",
                    months,
                    [
                        Series(k, [m[k] for m in d.months])
                        for k in ("joined", "lapsed", "reinstated")
                    ],
                    x_label="month",
                    y_label="participants",
                )
            ],
            found["flows"],
            csv("flows"),
            note="A lapse counts in the month the status turns lapsed: "
            "after the grace months with nothing paid.",
        ),
        _section(
            "log",
            "Log position and projection lag",
            [
                charts.bars(
                    "chart-log",
                    "Log position the page reflects",
                    f"The figures reflect log position {d.position}; the log's head is at "
                    f"{d.head}: {d.lag} events behind.",
                    ["log head", "figures reflect"],
                    [Series("position", [d.head, d.position])],
                    x_label="log position (events)",
                )
            ],
            found["log"],
            csv("log"),
            note=f"Projection lag: {charts.number(d.lag)} events.",
        ),
        _section(
            "children",
            f"{below.capitalize()} of {name}",
            [
                charts.bars(
                    "chart-children-active",
                    f"{below.capitalize()} by active participants, {d.period}",
                    f"The {len(by_active)} {below} of {name} with the most active participants.",
                    [r["name"] or r["region"] for r in by_active],
                    [Series("active participants", [r["active"] for r in by_active])],
                    x_label="active participants",
                    links=[link(d.period, r["region"]) for r in by_active],
                ),
                charts.bars(
                    "chart-children-change",
                    f"{below.capitalize()} by change on the month before",
                    f"Change in active participants from the month before "
                    f"{d.period}, largest gains and losses.",
                    [r["name"] or r["region"] for r in by_change],
                    [Series("change", [r["change"] for r in by_change])],
                    x_label="change in active participants on the month before",
                    links=[link(d.period, r["region"]) for r in by_change],
                ),
            ],
            found["children"],
            csv("children"),
            wide=True,
            note="" if d.child_level else "A village is the finest level: nothing below it.",
        ),
        _section(
            "channels",
            f"Enrollments and contributions by channel, {d.period}",
            [
                charts.bars(
                    "chart-channels",
                    "Enrollments and contributions by channel",
                    f"Enrollments and contribution payments per channel in {d.period}.",
                    [c["channel"] for c in d.channels],
                    [
                        Series("enrollments", [c["enrollments"] for c in d.channels]),
                        Series("contributions", [c["contributions"] for c in d.channels]),
                    ],
                    x_label="count (enrollments, payments)",
                ),
                charts.bars(
                    "chart-channel-amounts",
                    "Contributions paid by channel (rupiah)",
                    f"Rupiah of contributions paid per channel in {d.period}.",
                    [c["channel"] for c in d.channels],
                    [Series("contributions (Rp)", [c["contribution_amount"] for c in d.channels])],
                    x_label="contributions paid (Rp)",
                    value_text=lambda v: "Rp " + charts.short(v),
                ),
            ],
            found["channels"],
            csv("channels"),
        ),
        _section(
            "agents",
            f"Busiest field agents, {d.period}",
            [
                charts.bars(
                    "chart-agents",
                    "Busiest field agents",
                    f"The field agents with the most enrollments and payments in {d.period}.",
                    [a["agent_id"] for a in d.agents],
                    [
                        Series("enrollments", [a["enrollments"] for a in d.agents]),
                        Series("contributions", [a["contributions"] for a in d.agents]),
                    ],
                    x_label="count (enrollments, payments)",
                )
            ],
            found["agents"],
            csv("agents"),
        ),
    ]
    header = (
        f"<header><h1>Coverage dashboard: {escape(name)}, {escape(d.period)}</h1>"
        f'<nav class="trail" aria-label="Region">{trail}</nav></header>'
    )
    return _document(
        f"Coverage: {name}, {d.period}", header + "<main>" + filters + "".join(sections) + "</main>"
    )
