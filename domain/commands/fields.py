"""The shapes of the fields commands are parsed from (text in, typed value or refusal out)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from lokal import normalize_phone

from domain.errors import InvalidInputError
from domain.text import clean_text
from domain.values import Period, parse_date

Fields = Mapping[str, Any]


def text(row: Fields, key: str) -> str:
    """A required field's text, trimmed (`missing_<key>` when absent or blank)."""
    value = clean_text(row.get(key), field=key)
    if value == "":
        raise InvalidInputError(f"missing_{key}", f"The field '{key}' is required.")
    return value


def participant_id(row: Fields) -> UUID:
    return _uuid(row, "participant_id", "invalid_participant_id", "Not a participant id.")


def claim_id(row: Fields) -> UUID:
    return _uuid(row, "claim_id", "invalid_claim_id", "Not a claim id.")


def _uuid(row: Fields, key: str, code: str, message: str) -> UUID:
    value = row.get(key)
    if isinstance(value, UUID):
        return value
    try:
        return UUID(text(row, key))
    except ValueError:
        raise InvalidInputError(code, message) from None


def person_name(value: str) -> str:
    """A name of 1 to 200 characters (already trimmed), without control characters."""
    value = clean_text(value, field="name")
    if not 1 <= len(value) <= 200:
        raise InvalidInputError("invalid_name", "A name has 1 to 200 characters.")
    return value


def phone(value: Any) -> str | None:
    """An Indonesian phone number in E.164, or None when left out."""
    given = clean_text(value, field="phone")
    if given == "":
        return None
    e164 = normalize_phone(given)
    if e164 is None:
        raise InvalidInputError("invalid_phone", f"'{value}' is not an Indonesian phone number.")
    return e164


def occupation(value: Any) -> str:
    """Free text, 1 to 64 characters, kept lower case."""
    words = clean_text(value, field="occupation").lower()
    if not 1 <= len(words) <= 64:
        raise InvalidInputError("invalid_occupation", "An occupation has 1 to 64 characters.")
    return words


def month(value: str | Period) -> Period:
    """`YYYY-MM` (or a Period)."""
    return value if isinstance(value, Period) else Period.parse(value)


def flag(value: Any, key: str) -> bool:
    """A yes/no field: a bool, or true/false, yes/no, 1/0 (left out: no)."""
    if isinstance(value, bool):
        return value
    if value is None or str(value).strip() == "":
        return False
    word = str(value).strip().lower()
    if word in ("true", "yes", "1", "y"):
        return True
    if word in ("false", "no", "0", "n"):
        return False
    raise InvalidInputError(f"invalid_{key}", f"The field '{key}' is yes or no, not '{value}'.")


def optional_day(value: Any, what: str) -> date | None:
    """An optional date (None or blank: the ledger's today)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value, field=what)


def captured_at(row: Fields) -> datetime | None:
    """When a field agent's device captured the command (offline batches), if it says:
    a time with its UTC offset."""
    value = row.get("captured_at")
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    raise InvalidInputError("invalid_captured_at", "captured_at is a time with its UTC offset.")
