"""`ledger serve` and `ledger api-keys`: the HTTP API's commands.

Registered on the main app in `api.cli`. The server is handed to uvicorn as an import
string with a factory, so `--workers N` starts N processes that each build their own app.
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from infra.api_keys import ApiKeyStore, Role, api_keys_path, parse_role
from infra.settings import Settings, load_secrets, parse_database_url

keys_app = typer.Typer(help="API keys for the HTTP API (only their digests are stored).",
                       no_args_is_help=True)

out = Console()
err = Console(stderr=True)

DEMO_LABEL = "demo"
APP_FACTORY = "api.http.app:app_from_environment"


def key_store() -> ApiKeyStore:
    return ApiKeyStore(api_keys_path(Settings()))


@keys_app.command("add")
def keys_add(
    role: Annotated[str, typer.Argument(help=", ".join(r.value for r in Role))],
    label: Annotated[str, typer.Option(help="Who or what holds the key.")] = "",
) -> None:
    """Make a key; prints it alone on stdout, once (it cannot be shown again)."""
    key, record = key_store().add(parse_role(role), label)
    sys.stdout.write(key + "\n")
    err.print(f"key {record.key_id} ({record.role.value}) added; keep it now, it is not stored",
              highlight=False)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, label, created, revoked."""
    table = Table("id", "role", "label", "created (UTC)", "revoked (UTC)")
    for k in key_store().all():
        table.add_row(k.key_id, k.role.value, k.label, k.created_at, k.revoked_at or "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The id `list` shows (or 6+ of its digits).")],
) -> None:
    """Revoke a key; a running server refuses it within seconds."""
    record = key_store().revoke(key_id)
    out.print(f"key {record.key_id} ({record.role.value}) revoked at {record.revoked_at}")


def demo_keys(store: ApiKeyStore) -> dict[Role, str]:
    """One fresh key per role, labelled `demo`; earlier demo keys are revoked."""
    for k in store.all():
        if k.label == DEMO_LABEL and k.active:
            store.revoke(k.key_id)
    return {role: store.add(role, DEMO_LABEL)[0] for role in Role}


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Make one demo key per role (revoking earlier ones) and print them.")] = False,
) -> None:
    """Serve the HTTP API with uvicorn (OpenAPI at /docs)."""
    import uvicorn

    settings = Settings()
    parse_database_url(settings.database_url)  # configuration errors before uvicorn starts
    load_secrets(settings)
    if demo:
        print_demo_keys(demo_keys(ApiKeyStore(api_keys_path(settings))), host, port)
    # uvicorn's own access log would print query strings (a NIK look-up has one): it is
    # off, and the app logs each request under its route template instead.
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="info", log_config=log_config())


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, with the app's loggers (`api.http`) beside its own."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["api.http"] = {"handlers": ["default"], "level": "INFO",
                                     "propagate": False}
    return config


def print_demo_keys(keys: dict[Role, str], host: str, port: int) -> None:
    table = Table("role", "demo API key", title="Demo API keys (revoked by the next --demo)")
    for role, key in keys.items():
        table.add_row(role.value, key)
    out.print(table)
    base = f"http://{host}:{port}"
    out.print(f"Try: curl -s -H 'Authorization: Bearer {keys[Role.AUDITOR]}' {base}/readyz",
              highlight=False, soft_wrap=True)
    out.print(f"Docs: {base}/docs", highlight=False)
