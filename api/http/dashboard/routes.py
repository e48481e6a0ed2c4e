"""The coverage dashboard's routes: the page (`/`, `/dashboard`), sign-in and sign-out,
its stylesheet, and its data as JSON (`/v1/dashboard`) and per chart as CSV
(`/v1/dashboard/{chart}.csv`). Each parses, calls `api.services.dashboard`, renders.

The page is for the roles that read coverage (reporter, auditor, admin). It carries a
Content-Security-Policy that allows nothing but this server: no script at all, styles
and forms only from here, so the page cannot reach the internet even by mistake.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.http.auth import BEARER
from api.http.dashboard import page, session
from api.http.dashboard.tables import tables
from api.http.errors import ApiProblem
from api.http.responses import OrjsonResponse
from api.http.schemas import DashboardFigures, problems
from api.services.dashboard import DashboardSystem, dashboard
from domain.errors import InvalidInputError
from infra.api_keys import ApiKey

router = APIRouter(tags=["dashboard"])

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 4096

Period = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default this month")
]
Region = Annotated[
    str | None,
    Query(
        max_length=16,
        pattern=r"^[0-9.]*$",
        description="A region code: 32, 32.76, 3276 ...; default the nation",
    ),
]
Chart = Literal["target", "programmes", "flows", "children", "channels", "agents", "log"]  # NAMES


def _system(request: Request) -> DashboardSystem:
    found: DashboardSystem = request.app.state.system
    return found


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _reader(request: Request) -> ApiKey:
    """The caller of a data endpoint: 401 without a valid key or session, 403 for a role
    that does not read coverage."""
    key = session.visitor(request)
    if key is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "Send an API key as 'Authorization: Bearer <key>', or sign in on the dashboard.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not session.allowed(key):
        raise ApiProblem(
            403,
            "forbidden",
            f"The role '{key.role.value}' may not read coverage; "
            "allowed: admin, auditor, reporter.",
        )
    return key


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def show(request: Request, period: str | None = None, region: str | None = None) -> HTMLResponse:
    """The dashboard page (or its sign-in form) for a month and region."""
    key = session.visitor(request)
    if key is None:
        status = 401 if session.bearer(request) or request.cookies.get(session.COOKIE) else 200
        return _html(page.sign_in_page(), status)
    if not session.allowed(key):
        return _html(
            page.message_page(
                "Not for this role",
                f"The role '{key.role.value}' may "
                "not see coverage; sign in with a reporter, auditor or "
                "admin key.",
            ),
            403,
        )
    try:
        found = dashboard(_system(request), period=period or None, region=region or None)
    except InvalidInputError as error:  # a month or region the page cannot show
        return _html(page.message_page("Cannot show that", error.message), 422)
    signed_in = session.bearer(request) is None
    return _html(page.dashboard_page(found, tables(found), key.role.value, signed_in))


@router.get("/dashboard/dashboard.css", include_in_schema=False)
def stylesheet() -> Response:
    return Response(
        page.STYLE,
        media_type="text/css",
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def _same_origin(request: Request) -> bool:
    """A sign-in posted from this server's own page: browsers say where a form came from
    (`Sec-Fetch-Site`, else `Origin`); a client that says neither is not a browser that
    another site could have steered."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


@router.post("/dashboard/sign-in", response_class=HTMLResponse, include_in_schema=False)
async def sign_in(request: Request) -> Response:
    """Check the posted key; on success set the session cookie and go to the page."""
    if not _same_origin(request):
        return _html(page.message_page("Sign-in refused", "Sign in from this server's page."), 403)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _html(page.sign_in_page("That is not an API key."), 413)
    posted = parse_qs(body.decode("utf-8", errors="replace")).get("api_key", [""])
    key = session.key_store(request).lookup(posted[0].strip()) if posted[0].strip() else None
    if key is None:
        return _html(page.sign_in_page("That key is unknown or revoked."), 401)
    if not session.allowed(key):
        return _html(
            page.sign_in_page(
                f"The role '{key.role.value}' may not see coverage; "
                "use a reporter, auditor or admin key."
            ),
            403,
        )
    response = RedirectResponse(page.PAGE, status_code=303, headers=HEADERS)
    session.start_session(request, response, key)
    return response


@router.post("/dashboard/sign-out", include_in_schema=False)
def sign_out() -> Response:
    response = RedirectResponse(page.PAGE, status_code=303, headers=HEADERS)
    session.end_session(response)
    return response


@router.get(
    "/v1/dashboard",
    response_model=DashboardFigures,
    responses=problems(401, 403, 422),
    dependencies=[Depends(BEARER)],  # documents the key; `_reader` also takes the session
)
def data(request: Request, period: Period = None, region: Region = None) -> OrjsonResponse:
    """Every figure the dashboard shows for a month and region, with the log position
    they reflect and the projections' lag. Counts only: no personal data."""
    _reader(request)
    return OrjsonResponse(dashboard(_system(request), period=period, region=region).as_dict())


@router.get(
    "/v1/dashboard/{chart}.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV."},
        **problems(401, 403, 422),
    },
    dependencies=[Depends(BEARER)],
)
def chart_csv(
    request: Request, chart: Chart, period: Period = None, region: Region = None
) -> Response:
    """The table behind one chart, as CSV (the numbers the chart draws)."""
    _reader(request)
    found = dashboard(_system(request), period=period, region=region)
    name = f"coverage-{chart}-{found.period}{'-' + found.region if found.region else ''}.csv"
    return Response(
        tables(found)[chart].csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
