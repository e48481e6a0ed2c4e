"""API keys for the HTTP API: make, list, revoke (only digests are stored)."""

from __future__ import annotations

from infra.api_keys import ApiKey, ApiKeyStore, Role, api_keys_path, parse_role
from infra.settings import Settings

DEMO_LABEL = "demo"

__all__ = ["ApiKey", "Role", "add", "all_keys", "demo_keys", "revoke"]


def _store(settings: Settings) -> ApiKeyStore:
    return ApiKeyStore(api_keys_path(settings))


def add(settings: Settings, role: str, label: str = "") -> tuple[str, ApiKey]:
    """A new key for `role` (shown once: only its digest is kept) and its record."""
    return _store(settings).add(parse_role(role), label)


def all_keys(settings: Settings) -> list[ApiKey]:
    return _store(settings).all()


def revoke(settings: Settings, key_id: str) -> ApiKey:
    return _store(settings).revoke(key_id)


def demo_keys(settings: Settings) -> dict[Role, str]:
    """One fresh key per role, labelled `demo`; the earlier demo keys are revoked."""
    store = _store(settings)
    for key in store.all():
        if key.label == DEMO_LABEL and key.active:
            store.revoke(key.key_id)
    return {role: store.add(role, DEMO_LABEL)[0] for role in Role}
