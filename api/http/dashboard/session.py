"""Who is looking at the dashboard: an API key sent as `Authorization: Bearer` (scripts),
or a signed cookie the sign-in form set (people).

The cookie holds the key's id (the first digits of its digest, what `ledger api-keys list`
shows), never the key, signed with a timestamp by itsdangerous under the session secret
(`infra.settings.session_secret`); it is HTTP-only and SameSite=Strict, so pages of other
sites can neither read it nor send it. Each request looks the id up again, so revoking
the key ends its sessions within the key store's reload interval.
"""

from __future__ import annotations

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.http.auth import key_store, may
from infra.api_keys import ApiKey
from infra.settings import Settings, session_secret

COOKIE = "ledger_dashboard"
SESSION_SECONDS = 8 * 3600
ACTION = "read_coverage"  # the dashboard shows what the coverage endpoints show


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    found: URLSafeTimedSerializer | None = getattr(state, "dashboard_signer", None)
    if found is None:
        settings: Settings = state.settings
        found = URLSafeTimedSerializer(session_secret(settings), salt="ledger-dashboard")
        state.dashboard_signer = found
    return found


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def from_cookie(request: Request) -> ApiKey | None:
    """The active key a valid, unexpired session cookie names, if any."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        key_id = _serializer(request).loads(value, max_age=SESSION_SECONDS)
    except BadSignature:  # also SignatureExpired
        return None
    return next((k for k in key_store(request).all() if k.key_id == key_id and k.active), None)


def visitor(request: Request) -> ApiKey | None:
    """The caller's key: the Bearer header's when one is sent, else the cookie's."""
    token = bearer(request)
    if token is not None:
        return key_store(request).lookup(token)
    return from_cookie(request)


def allowed(key: ApiKey) -> bool:
    return may(key.role, ACTION)


def start_session(request: Request, response: Response, key: ApiKey) -> None:
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps(key.key_id),
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
