"""Who is asking, and what of a participant's personal data they may see.

Personal data (NIK, name, birth date, phone, address, claim descriptions) leaves the
services in the clear only for a viewer whose role may see it and who asked for it
(`reveal`); everyone else gets it masked. Reporters never see it, whatever they ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

# The roles of DESIGN.md ("API keys mapped to roles"), plus the operator at the console,
# who runs the command line on the store's own host with its secrets.
ROLES = ("registrar", "collector", "claims_officer", "auditor", "reporter", "admin", "operator")
PERSONAL_DATA_ROLES = frozenset(ROLES) - {"reporter"}
ERASED = "(erased)"


@dataclass(frozen=True)
class Viewer:
    """The caller of a query: a role, and whether they asked to see personal data."""

    role: str = "operator"
    reveal: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")

    @classmethod
    def console(cls, reveal: bool = False) -> Viewer:
        """The operator at the command line (`--reveal` shows personal data)."""
        return cls(role="operator", reveal=reveal)

    @property
    def sees_personal_data(self) -> bool:
        return self.reveal and self.role in PERSONAL_DATA_ROLES


def mask(value: str | None, keep: int = 4) -> str:
    """`1271********0001`: the ends of an identifier, enough to tell two apart."""
    if not value:
        return ERASED
    return value[:keep] + "*" * max(len(value) - 2 * keep, 0) + value[-keep:]


def mask_name(value: str | None) -> str:
    """`D. L.`: a name's initials."""
    if not value:
        return ERASED
    return " ".join(part[0] + "." for part in value.split())


def personal_fields(value: dict[str, Any] | None, viewer: Viewer) -> Any:
    """An event's personal fields as this viewer may see them."""
    if value is None:
        return ERASED
    if viewer.sees_personal_data:
        return value
    return {
        k: (mask(v) if k == "nik" else mask_name(v) if k == "name" else "***" if v else None)
        for k, v in value.items()
    }


def describe_event(event: Any, viewer: Viewer) -> dict[str, Any]:
    """A recorded event as plain JSON: version, type, when recorded, and its facts (the
    personal ones masked for this viewer)."""
    data: dict[str, Any] = {}
    personal = getattr(type(event), "personal_fields", ())
    for key, value in vars(event).items():
        if key in ("originator_id", "originator_version", "timestamp", "originator_topic"):
            continue
        if key in personal:
            value = personal_fields(value, viewer)
        data[key] = plain(value)
    return {
        "version": event.originator_version,
        "type": type(event).__name__,
        "recorded_at": event.timestamp.isoformat(),
        "data": data,
    }


def plain(value: Any) -> Any:
    """A value as plain JSON types (dates ISO, anything else unknown as its text)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
