"""Free text from outside: what a text field may hold, and how to show any text safely.

Names, occupations, addresses, references and descriptions arrive from spreadsheets,
terminals and HTTP bodies. Letters, marks, digits, spaces, punctuation and symbols of any
script are fine (Indonesian names come in many). Control characters are not: a NUL or
an ANSI escape (`ESC[31m`) in a stored name would later reach a clerk's terminal or a
report; a bidirectional override (U+202E) makes text read differently from what it is.
"""

from __future__ import annotations

import re

from domain.errors import InvalidInputError

# C0 and C1 controls and DEL (Unicode category Cc), the line and paragraph separators, the
# bidirectional embeddings, overrides and isolates, and lone surrogates (not text at all).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

CONTROL_CHARACTERS = "control_characters"


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a character no text field may hold (see the module)."""
    return _FORBIDDEN.search(text) is not None


def clean_text(value: object, *, field: str) -> str:
    """`value` as text, stripped of surrounding spaces; refused (`control_characters`) if it
    holds a control character anywhere, even in the part that would be stripped."""
    text = "" if value is None else str(value)
    found = _FORBIDDEN.search(text)
    if found is not None:
        raise InvalidInputError(
            CONTROL_CHARACTERS,
            f"The {field} contains a control character (U+{ord(found.group()):04X}) at "
            f"position {found.start() + 1}.",
        )
    return text.strip()


def printable(text: str) -> str:
    """`text` safe to print to a terminal: each forbidden character shown as an escape
    (`\\x1b`, `\\u202e`), so output can neither move the cursor, recolour the screen nor
    reorder what is shown. A backslash is doubled, so the escapes are unambiguous."""
    if _FORBIDDEN.search(text) is None and "\\" not in text:
        return text
    return _FORBIDDEN.sub(_escape, text.replace("\\", "\\\\"))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
