"""What text the API accepts: no control characters or unpaired surrogates anywhere, and a
question must hold at least one visible character.

The rules are regular expressions written so that Python and JSON Schema (ECMA-262) read
them alike, so the OpenAPI schema declares exactly what the code enforces and
schema-driven clients and fuzzers agree with the server.
"""

from __future__ import annotations

import re

# C0 controls but tab, line feed and carriage return; DEL and C1.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Lone surrogate halves, which JSON's \u escapes can carry but no encoder can write (OpenCC
# and the JSON encoder fail on them). Valid Unicode strings never hold them, so the schema's
# patterns leave them out (schema validators refuse the range); the code refuses them too.
_FORBIDDEN = _CONTROL + r"\ud800-\udfff"
# Whitespace and characters that show nothing: zero-width spaces and joiners, direction
# marks, the byte-order mark, soft hyphen, word joiners.
_BLANK = (r"\t\n\r \xa0\xad\u034f\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f"
          r"\u205f-\u2064\u2066-\u206f\u3000\u3164\ufeff\uffa0")

SAFE_PATTERN = f"^[^{_CONTROL}]*$"
QUESTION_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_BLANK}][^{_CONTROL}]*$"
_FORBIDDEN_CHAR = re.compile(f"[{_FORBIDDEN}]")
_VISIBLE_CHAR = re.compile(f"[^{_FORBIDDEN}{_BLANK}]")


def forbidden_character(text: str) -> str | None:
    """The first character the API refuses in any text, as U+XXXX, or None."""
    found = _FORBIDDEN_CHAR.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def has_visible(text: str) -> bool:
    """Whether `text` shows anything: not only spaces, zero-width or direction marks."""
    return _VISIBLE_CHAR.search(text) is not None


def check_safe(text: str) -> str:
    """`text` unchanged; ValueError naming a control character or unpaired surrogate."""
    bad = forbidden_character(text)
    if bad is not None:
        raise ValueError(f"contains {bad}, a control character or an unpaired surrogate")
    return text
