"""Text as maintainers must see it: control characters and bidirectional overrides (the
"Trojan Source" trick, U+202A-U+202E and U+2066-U+2069) shown as visible markers, never
rendered raw, so a patch cannot look different from what it does."""

from __future__ import annotations

import re
import unicodedata

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# C0 and C1 controls except tab and newline, DEL, zero-width/format marks that hide text, and
# the bidirectional controls
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e"
                     "\u2060-\u2064\u2066-\u2069\ufeff]")


def suspicious(text: str) -> bool:
    """True when `text` holds a character that changes how the rest is displayed."""
    return bool(_HIDDEN.search(text))


def has_bidi(text: str) -> bool:
    return any(c in BIDI for c in text)


def _marker(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "control character")
    return format_html('<span class="ctl" title="{}">\u27e6{}\u27e7</span>', name, code)


def visible(text: object) -> SafeString:
    """HTML-escaped `text` with every hidden character replaced by a visible marker."""
    value = "" if text is None else str(text)
    parts, last = [], 0
    for m in _HIDDEN.finditer(value):
        parts.append(escape(value[last:m.start()]))
        parts.append(_marker(m.group()))
        last = m.end()
    parts.append(escape(value[last:]))
    return mark_safe("".join(parts))
