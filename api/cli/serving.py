"""`ledger serve` and `ledger api-keys`: the HTTP API's commands.

The server is handed to uvicorn as an import string with a factory, so `--workers N`
starts N processes that each build their own app (and their own system).
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.render import err, open_system, out
from api.services import access
from api.services import demo as demo_service
from infra.api_keys import Role
from infra.settings import Settings, load_secrets, parse_database_url

app = typer.Typer()
keys_app = typer.Typer(
    help="API keys for the HTTP API (only their digests are stored).", no_args_is_help=True
)

APP_FACTORY = "api.http.app:app_from_environment"


@keys_app.command("add")
def keys_add(
    role: Annotated[str, typer.Argument(help=", ".join(r.value for r in Role))],
    label: Annotated[str, typer.Option(help="Who or what holds the key.")] = "",
) -> None:
    """Make a key; prints it alone on stdout, once (it cannot be shown again)."""
    key, record = access.add(Settings(), role, label)
    sys.stdout.write(key + "\n")
    err.print(
        f"key {record.key_id} ({record.role.value}) added; keep it now, it is not stored",
        highlight=False,
    )


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, label, created, revoked."""
    table = Table("id", "role", "label", "created (UTC)", "revoked (UTC)")
    for k in access.all_keys(Settings()):
        table.add_row(k.key_id, k.role.value, k.label, k.created_at, k.revoked_at or "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The id `list` shows (or 6+ of its digits).")],
) -> None:
    """Revoke a key; a running server refuses it within seconds."""
    record = access.revoke(Settings(), key_id)
    out.print(f"key {record.key_id} ({record.role.value}) revoked at {record.revoked_at}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Seed a demo population if the ledger is empty, make one demo key "
            "per role (revoking earlier ones) and print them.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API with uvicorn (OpenAPI at /docs)."""
    import uvicorn

    settings = Settings()
    parse_database_url(settings.database_url)  # configuration errors before uvicorn starts
    load_secrets(settings)
    if demo:
        with open_system() as system:
            sample = demo_service.start(system, participants=2_000).sample
        print_demo(access.demo_keys(settings), host, port, sample)
    # uvicorn's own access log would print query strings (a NIK look-up has one): it is
    # off, and the app logs each request under its route template instead.
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        log_config=log_config(),
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, with the app's loggers (`api.http`) beside its own."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["api.http"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def print_demo(keys: dict[Role, str], host: str, port: int, sample: str) -> None:
    table = Table("role", "demo API key", title="Demo API keys (the next --demo revokes them)")
    for role, key in keys.items():
        table.add_row(role.value, key)
    out.print(table)
    base = f"http://{host}:{port}"
    out.print("Try:", highlight=False)
    out.print(
        f"  curl -s -H 'Authorization: Bearer {keys[Role.COLLECTOR]}' "
        f"{base}/v1/participants/{sample}/status",
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"OpenAPI: {base}/docs   metrics: {base}/metrics", highlight=False)
