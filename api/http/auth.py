"""Who may call what: API keys as `Authorization: Bearer <key>`, mapped to roles.

`PERMISSIONS` is the whole policy, one row per action; routes name an action with
`Depends(allowed("enroll"))`, and the README's roles table is this table. A missing or
unknown key is 401 with `WWW-Authenticate: Bearer`; a known key whose role lacks the
action is 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.errors import ApiProblem
from infra.api_keys import ApiKey, ApiKeyStore, Role

R, C, O, A, P, D = (  # noqa: E741 - O is the claims officer's column in the role table
    Role.REGISTRAR,
    Role.COLLECTOR,
    Role.CLAIMS_OFFICER,
    Role.AUDITOR,
    Role.REPORTER,
    Role.ADMIN,
)

# The admin may do everything, and is the only role that erases. Reporters see counts only.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "enroll": frozenset({R, D}),
    "correct": frozenset({R, D}),  # details, income, programmes, death, withdrawal
    "contribute": frozenset({C, D}),
    "claims": frozenset({O, D}),
    "erase": frozenset({D}),
    "batch": frozenset({R, C, D}),  # each command in it is checked against its own action
    "read_participant": frozenset({R, C, O, A, D}),  # look-up and status
    "read_history": frozenset({R, O, A, D}),
    "read_coverage": frozenset({A, P, D}),
    "read_feed": frozenset({A, D}),
    "read_audit": frozenset({A, D}),  # proofs, checkpoints, the verifier key
}

# Roles that see NIK, name and the other personal fields in clear; everyone else, masked.
SEES_PERSONAL_DATA = frozenset({R, D})

# Dependencies are `async def` though they do no I/O worth awaiting (a dict lookup, a
# stat() once a second): a plain `def` dependency costs a thread-pool round trip per request.
_bearer = HTTPBearer(auto_error=False, description="An API key made by `ledger api-keys add`.")
# The scheme itself, for routes that check the key their own way (the dashboard's data,
# which also takes the page's session): as a dependency it documents the key, and checks
# nothing.
BEARER = _bearer


def key_store(request: Request) -> ApiKeyStore:
    store: ApiKeyStore = request.app.state.api_keys
    return store


async def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    """The key the request was made with; 401 if there is none or it is not active."""
    if credentials is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "Send an API key: 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = key_store(request).lookup(credentials.credentials)
    if found is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "The API key is unknown or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return found


Caller = Annotated[ApiKey, Depends(caller)]


def may(role: Role, action: str) -> bool:
    return role in PERMISSIONS[action]


def check(key: ApiKey, action: str) -> None:
    """403 unless the key's role may do `action`."""
    if not may(key.role, action):
        allowed_roles = ", ".join(sorted(r.value for r in PERMISSIONS[action]))
        raise ApiProblem(
            403,
            "forbidden",
            f"The role '{key.role.value}' may not {action.replace('_', ' ')}; "
            f"allowed: {allowed_roles}.",
        )


def allowed(action: str) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency: the caller's key, if its role may do `action`."""
    if action not in PERMISSIONS:
        raise KeyError(action)

    async def dependency(key: Caller) -> ApiKey:
        check(key, action)
        return key

    return dependency
