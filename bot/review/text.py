"""Text as maintainers must see it: control characters, invisible format characters and
bidirectional controls (the "Trojan Source" trick: U+202A-U+202E, U+2066-U+2069, U+061C,
U+200E/F...) are never rendered raw, so a patch cannot look different from what it does.

One rule, three contexts: `visible` for HTML text (a marker element), `plain` for attributes
and <title> (the same marker as text), `link` for URLs (http(s) only, percent-encoded). The
templates pass every user-controlled string through one of them (templatetags/review_text)."""

from __future__ import annotations

import re
import unicodedata

from django.utils.encoding import iri_to_uri
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# C0 and C1 controls except tab and newline, and every format character (Cf: bidirectional
# controls and marks, zero-width characters, U+061C...), plus the line/paragraph separators
_KEEP = {"\t", "\n"}
_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
# where such characters are (Unicode 15: planes 0 and 1, and the tags of plane 14)
_PLANES = (*range(0x20000), *range(0xE0000, 0xE1000))


def _hidden_class() -> str:
    ranges: list[list[int]] = []
    for code in _PLANES:
        char = chr(code)
        if char in _KEEP or unicodedata.category(char) not in _CATEGORIES:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "")
                   for a, b in ranges)


_HIDDEN = re.compile(f"[{_hidden_class()}]")


def suspicious(text: str) -> bool:
    """True when `text` holds a character that changes how the rest is displayed."""
    return bool(_HIDDEN.search(text))


def marker(char: str) -> str:
    """The visible stand-in for a hidden character: ⟦U+202E⟧."""
    return f"\u27e6U+{ord(char):04X}\u27e7"


def _marker_html(char: str) -> str:
    name = unicodedata.name(char, "control character")
    return format_html('<span class="ctl" title="{}">{}</span>', name, marker(char))


def visible(text: object) -> SafeString:
    """HTML-escaped `text` with every hidden character replaced by a visible marker."""
    value = "" if text is None else str(text)
    parts, last = [], 0
    for m in _HIDDEN.finditer(value):
        parts.append(escape(value[last:m.start()]))
        parts.append(_marker_html(m.group()))
        last = m.end()
    parts.append(escape(value[last:]))
    return mark_safe("".join(parts))   # every part escaped above


def plain(text: object) -> str:
    """`text` for an attribute or a <title>: hidden characters as markers, in plain text (the
    template's auto-escaping still applies)."""
    value = "" if text is None else str(text)
    return _HIDDEN.sub(lambda m: marker(m.group()), value)


def link(url: object) -> str:
    """A user-given URL for an href: http(s) only (else empty), every non-ASCII or control
    character percent-encoded, so no hidden character reaches the attribute raw."""
    value = "" if url is None else str(url)
    if not re.match(r"^https?://", value, re.IGNORECASE):
        return ""
    return iri_to_uri(value)
