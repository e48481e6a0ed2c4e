"""Configuration from `LEDGER_*` environment variables; the defaults are the embedded set-up."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.rules import RuleBook, default_rule_book


class Settings(BaseSettings):
    """Every setting the ledger reads. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = "sqlite:///var/ledger.db"
    var_dir: Path = Path("var")
    nik_pepper: SecretStr | None = None  # base64, at least 16 bytes
    master_key: SecretStr | None = None  # base64 of 32 bytes; wraps the per-person keys
    # The programme rules (a `programme_rules.toml`); default: the ones shipped in `domain`.
    rules_file: Path | None = None
    api_keys_file: Path | None = None  # the HTTP API's key digests; default <var_dir>/api-keys.json
    # /readyz fails while the read models are more than this many log positions behind.
    api_ready_lag: int = Field(default=1000, ge=0)
    # Signs the dashboard's sign-in cookie (base64, at least 32 bytes); the embedded default
    # creates one in <var_dir>/session-secret.json.
    session_secret: SecretStr | None = None
    # Kafka (the relay and the reporting consumers); without a bootstrap nothing needs a broker.
    kafka_bootstrap: str | None = None  # host:port[,host:port...]
    kafka_topic: str = "ledger.events"
    kafka_partitions: int = Field(default=12, ge=1, le=10_000)
    kafka_dead_letter_topic: str | None = None  # default: "<topic>.dead-letters"
    # The audit log's signed checkpoints, published by the relay; default "<topic>.checkpoints".
    kafka_checkpoint_topic: str | None = None
    kafka_group: str = "ledger-reporting"
    kafka_source: str = "/enrollment-ledger"  # CloudEvents `source` of every published event
    # Where the reporting consumers keep their read models; default `var/reporting.db`.
    reporting_database_url: str | None = None
    # Worker processes for a big projection rebuild (a log of 1,000,000 positions or more,
    # `projections.split.SPLIT_FROM`); 1: no split, 0: one per usable core. Off by default:
    # on this 2-core machine two workers gave 1.45x on SQLite at 100,000 participants when
    # idle, but ran slower than one process under another process's load, and on a
    # PostgreSQL server sharing the cores (see the README); turn it on where cores are free.
    rebuild_workers: int = Field(default=1, ge=0, le=64)
    # Memory a rebuild folds the log in, in MB, shared by its workers: it folds the
    # participants in shares sized to it (about 500 bytes per log position), and each share
    # reads the whole log, so more memory means fewer passes (projections.bulk).
    rebuild_memory_mb: int = Field(default=4096, ge=1, le=4_194_304)
    # The audit log (docs/audit.md): the checkpoints' signing key (base64 of a 32-byte
    # Ed25519 seed; the embedded default creates var/audit-key), the log's origin line and
    # key name, how often a checkpoint is signed, and where checkpoints are published.
    audit_signing_key: SecretStr | None = None
    audit_origin: str = Field(default="ledger.local/enrollment-ledger", pattern=r"^[^\s+]+$")
    audit_checkpoint_every: int = Field(default=10_000, ge=1)
    audit_checkpoint_seconds: float = Field(default=3600.0, gt=0)
    audit_publish_dir: Path | None = None

    def dead_letter_topic(self) -> str:
        return self.kafka_dead_letter_topic or f"{self.kafka_topic}.dead-letters"

    def checkpoint_topic(self) -> str:
        return self.kafka_checkpoint_topic or f"{self.kafka_topic}.checkpoints"

    def reporting_url(self) -> str:
        return self.reporting_database_url or f"sqlite:///{self.var_dir / 'reporting.db'}"

    def workers(self) -> int:
        if self.rebuild_workers:
            return self.rebuild_workers
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )


@dataclass(frozen=True)
class Database:
    """A parsed `LEDGER_DATABASE_URL`."""

    kind: str  # "sqlite" or "postgres"
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    name: str = ""
    schema: str = "public"

    @property
    def conninfo(self) -> str:
        return (
            f"host={self.host} port={self.port} dbname={self.name} user={self.user} "
            f"password={self.password}"
        )


class ConfigurationError(Exception):
    """A setting is missing or malformed."""


def parse_database_url(url: str) -> Database:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigurationError(f"'{url}' is not sqlite:///path/to/file.db")
        return Database(kind="sqlite", path=Path(path))
    if parsed.scheme in ("postgresql", "postgres"):
        query = parse_qs(parsed.query)
        if not parsed.path.strip("/"):
            raise ConfigurationError(f"'{url}' names no database")
        return Database(
            kind="postgres",
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
            name=parsed.path.strip("/"),
            schema=query.get("schema", ["public"])[0],
        )
    raise ConfigurationError(
        f"LEDGER_DATABASE_URL must start with sqlite:/// or postgresql://, not '{parsed.scheme}:'"
    )


def load_rule_book(settings: Settings) -> RuleBook:
    """The rule book the ledger and its read models use: `LEDGER_RULES_FILE`, or the
    rules shipped with the code."""
    if settings.rules_file is None:
        return default_rule_book()
    try:
        return RuleBook.from_toml(settings.rules_file.read_text("utf-8"))
    except OSError as error:
        raise ConfigurationError(f"LEDGER_RULES_FILE {settings.rules_file}: {error}") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(
            f"LEDGER_RULES_FILE {settings.rules_file} is not a programme rule book: "
            f"{type(error).__name__}: {error}"
        ) from None


@dataclass(frozen=True)
class Secrets:
    nik_pepper: bytes
    master_key: bytes


def load_secrets(settings: Settings) -> Secrets:
    """Secrets from settings; the embedded default creates `var/secrets.json` (0600) once."""
    if settings.nik_pepper is not None and settings.master_key is not None:
        return Secrets(
            _b64(settings.nik_pepper, "LEDGER_NIK_PEPPER"),
            _b64(settings.master_key, "LEDGER_MASTER_KEY"),
        )
    path = settings.var_dir / "secrets.json"
    if not path.exists():
        _create_secrets_file(path)
    data = json.loads(path.read_text())
    pepper = (
        _b64(settings.nik_pepper, "LEDGER_NIK_PEPPER")
        if settings.nik_pepper
        else base64.b64decode(data["nik_pepper"])
    )
    master = (
        _b64(settings.master_key, "LEDGER_MASTER_KEY")
        if settings.master_key
        else base64.b64decode(data["master_key"])
    )
    return Secrets(pepper, master)


def session_secret(settings: Settings) -> bytes:
    """The key that signs the dashboard's cookies: `LEDGER_SESSION_SECRET`, or one made
    once in `<var_dir>/session-secret.json` (0600) for the embedded set-up."""
    if settings.session_secret is not None:
        secret = _b64(settings.session_secret, "LEDGER_SESSION_SECRET")
        if len(secret) < 32:
            raise ConfigurationError("LEDGER_SESSION_SECRET must be at least 32 bytes")
        return secret
    path = settings.var_dir / "session-secret.json"
    if not path.exists():
        _create_secrets_file(path, ("session_secret",))
    return base64.b64decode(json.loads(path.read_text())["session_secret"])


def _create_secrets_file(path: Path, names: tuple[str, ...] = ("nik_pepper", "master_key")) -> None:
    """Write the file whole under a temporary name, then link it into place: a process
    starting at the same moment either wins or reads the winner's complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {name: base64.b64encode(os.urandom(32)).decode() for name in names}
    temporary = path.with_name(f".secrets.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _b64(secret: SecretStr, name: str) -> bytes:
    try:
        return base64.b64decode(secret.get_secret_value(), validate=True)
    except ValueError:
        raise ConfigurationError(f"{name} must be base64") from None
