"""Kernel release versions: parsing what the user types, ordering, Debian revisions, tag names.

Two orders matter here:

- upstream kernel versions (5.10.46 < 5.10.218 < 6.1.176) compare numerically, part by part;
- Debian package versions (6.1.176-1~deb11u1 < 6.1.176-1) compare with dpkg's algorithm,
  used only to pick the latest Debian revision of one upstream version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserError

_UPSTREAM_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_REQUEST_RE = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?)(?:-([0-9A-Za-z.+~]+))?$")


@dataclass(frozen=True, order=True)
class Upstream:
    """An upstream kernel version, ordered numerically: (5, 10, 46) < (5, 10, 218)."""

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Upstream:
        m = _UPSTREAM_RE.match(text)
        if not m:
            raise ValueError(f"not a kernel version: {text!r}")
        return cls(tuple(int(g) for g in m.groups() if g is not None))

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)

    @property
    def tag(self) -> str:
        return f"v{self}"

    @property
    def series(self) -> str:
        """The stable series: 5.10 for 5.10.223."""
        return f"{self.parts[0]}.{self.parts[1]}"


@dataclass(frozen=True)
class Request:
    """What the user asked for: an upstream version and, optionally, one Debian revision."""

    upstream: Upstream
    debian: str | None  # full Debian version ("5.10.223-1") when the user named one

    def __str__(self) -> str:
        return self.debian or str(self.upstream)


def parse_request(text: str) -> Request:
    """'5.10.223', 'v5.10.223' or '5.10.223-1' -> Request; UserError on anything else."""
    m = _REQUEST_RE.match(text.strip())
    if not m:
        raise UserError(f"{text!r} is not a kernel version: pass it like 5.10.223 or 5.10.223-1 "
                        "(cocci-bot mirror --list shows the versions on offer)")
    upstream = Upstream.parse(m.group(1))
    return Request(upstream, f"{upstream}-{m.group(2)}" if m.group(2) else None)


def upstream_of(debian_version: str) -> Upstream | None:
    """The upstream part of a Debian version ('5.10.46-4' -> 5.10.46), None if not a kernel one."""
    version = debian_version.split(":", 1)[-1]
    upstream = version.rsplit("-", 1)[0] if "-" in version else version
    try:
        return Upstream.parse(upstream)
    except ValueError:
        return None


def tag_version(tag: str) -> Upstream | None:
    """'v5.10.46' -> 5.10.46; None for tags that are not release tags."""
    if not tag.startswith("v"):
        return None
    try:
        return Upstream.parse(tag[1:])
    except ValueError:
        return None


# --- dpkg version comparison (Debian Policy 5.6.12) -----------------------------------------

def _char_order(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """Compare an upstream or revision string: alternating non-digit and digit runs."""
    while a or b:
        na = re.match(r"^[^0-9]*", a).group(0)  # type: ignore[union-attr]
        nb = re.match(r"^[^0-9]*", b).group(0)  # type: ignore[union-attr]
        for i in range(max(len(na), len(nb))):
            ca = _char_order(na[i]) if i < len(na) else 0
            cb = _char_order(nb[i]) if i < len(nb) else 0
            if ca != cb:
                return -1 if ca < cb else 1
        a, b = a[len(na):], b[len(nb):]
        da = re.match(r"^[0-9]*", a).group(0)  # type: ignore[union-attr]
        db = re.match(r"^[0-9]*", b).group(0)  # type: ignore[union-attr]
        ia, ib = int(da or 0), int(db or 0)
        if ia != ib:
            return -1 if ia < ib else 1
        a, b = a[len(da):], b[len(db):]
    return 0


def _split_debian(v: str) -> tuple[int, str, str]:
    epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
    return int(epoch or 0), upstream, revision


def compare_debian(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian version a sorts before, with or after b (like dpkg --compare-versions)."""
    ea, ua, ra = _split_debian(a)
    eb, ub, rb = _split_debian(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)
