"""The per-call-site report: every use found in the base tree, its class and its outcome.

Lines and functions refer to the base tree.  A site's outcome is read off the
diffs the steps really produced (not assumed from its class): a step's diff is
mapped back to base-tree line numbers through the earlier steps' hunks.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Site:
    file: str
    line: int
    column: int
    function: str
    expression: str
    cls: str
    outcome: str = "untouched"
    step: str | None = None
    note: str = ""
    changed_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        data["class"] = data.pop("cls")
        del data["column"]
        if not data["note"]:
            del data["note"]
        if not data["changed_by"]:
            del data["changed_by"]
        return data

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.file, self.line, self.column)


def sites_from_records(records: list[dict]) -> list[Site]:
    seen: dict[tuple[str, int, int], Site] = {}
    for rec in records:
        if rec.get("kind") != "site":
            continue
        site = Site(rec["file"], rec["line"], rec["column"], rec.get("function") or "",
                    rec["expression"], rec["cls"])
        seen.setdefault(site.key, site)
    return sorted(seen.values(), key=lambda s: (s.file, s.line, s.column))


def facts_from_records(records: list[dict]) -> set[str]:
    return {rec["fact"] for rec in records if rec.get("kind") == "fact"}


# ---------------------------------------------------------------- diff line maps

Hunk = tuple[int, int, int, int]  # old_start, old_len, new_start, new_len


def hunks_by_file(diff: str) -> dict[str, list[Hunk]]:
    """`git diff -U0` output -> {old path: [hunks]}."""
    files: dict[str, list[Hunk]] = {}
    current: list[Hunk] | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            name = line[4:].strip()
            current = files.setdefault(name[2:] if name.startswith("a/") else name, [])
        elif line.startswith("@@") and current is not None:
            m = _HUNK.match(line)
            if m:
                old_len = int(m.group(2)) if m.group(2) is not None else 1
                new_len = int(m.group(4)) if m.group(4) is not None else 1
                current.append((int(m.group(1)), old_len, int(m.group(3)), new_len))
    return files


def removed(hunks: list[Hunk], line: int) -> bool:
    return any(old <= line < old + n for old, n, _, _ in hunks if n)


def map_line(hunks: list[Hunk], line: int) -> int | None:
    """Where old `line` is after the diff; None when the diff removed it.  A line a
    hunk rewrote in place (as many lines out as in) maps to its rewritten self."""
    shift = 0
    for old, old_len, new, new_len in hunks:
        if old_len and old <= line < old + old_len:
            return new + (line - old) if old_len == new_len else None
        # a pure insertion (old_len 0) sits after old line `old`
        if (old_len and old + old_len <= line) or (not old_len and old < line):
            shift += new_len - old_len
    return line + shift


class Tracker:
    """Follows base-tree sites through the steps' diffs: which step changes which site."""

    def __init__(self, sites: list[Site]):
        self.sites = sites
        self.earlier: list[dict[str, list[Hunk]]] = []

    def step(self, label: str, diff: str) -> list[Site]:
        """Record one step's `git diff -U0`; returns the sites it changes (in base order)."""
        hunks = hunks_by_file(diff)
        changed = []
        for site in self.sites:
            line = self.current_line(site)
            if line is not None and removed(hunks.get(site.file, []), line):
                changed.append(site)
                site.changed_by.append(label)
                if site.step is None:
                    site.outcome, site.step = "transformed", label
        self.earlier.append(hunks)
        return changed

    def current_line(self, site: Site) -> int | None:
        line: int | None = site.line
        for hunks in self.earlier:
            if line is None:
                return None
            line = map_line(hunks.get(site.file, []), line)
        return line
