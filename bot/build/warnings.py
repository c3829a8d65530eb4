"""Compiler warnings from a build log, normalised so that line shifts don't count as new.

A warning's identity is (file relative to the source tree, message, -W flag); its line and
column are kept for the report but not compared. A series adds a warning when the patched
build shows an identity more often than the base build did.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

WARNING_RE = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)? warning: (?P<message>.*?)"
    r"(?: \[(?P<flag>-W[^\]]+)\])?$")


@dataclass(frozen=True)
class Warning:
    file: str
    line: int
    message: str
    flag: str
    text: str            # the log line as the compiler printed it (paths relative to the tree)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.file, self.message, self.flag)


def relative(path: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
            break
    while path.startswith(("./", "../")):
        path = path.split("/", 1)[1]
    return path


def parse(log: str, prefixes: tuple[str, ...] = ()) -> list[Warning]:
    """Every compiler warning in `log`; `prefixes` (source tree paths + "/") are stripped."""
    found = []
    for raw in log.splitlines():
        m = WARNING_RE.match(raw.strip())
        if not m:
            continue
        file = relative(m["file"], prefixes)
        text = raw.strip().replace(m["file"], file, 1)
        found.append(Warning(file, int(m["line"]), m["message"], m["flag"] or "", text))
    return found


def new_warnings(base: list[Warning], patched: list[Warning]) -> list[Warning]:
    """Warnings of the patched build beyond what the base build had (by normalised identity)."""
    budget = Counter(w.key for w in base)
    seen: Counter[tuple[str, str, str]] = Counter()
    new = []
    for w in patched:
        seen[w.key] += 1
        if seen[w.key] > budget[w.key]:
            new.append(w)
    return new
