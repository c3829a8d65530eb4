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
    line_end: int = 0   # last line of the condition the use sits in (0: its own line)

    def to_json(self) -> dict:
        data = asdict(self)
        data["class"] = data.pop("cls")
        del data["column"], data["line_end"]
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
                    rec["expression"], rec["cls"], line_end=rec.get("line_end") or 0)
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


def inserted_within(hunks: list[Hunk], first: int, last: int) -> bool:
    """Does the diff add lines between lines first and last (a pure insertion)?"""
    return any(not n and first <= old < last for old, n, _, _ in hunks)


def map_line(hunks: list[Hunk], line: int) -> int | None:
    """Where old `line` is after the diff; None when the diff removed it and added nothing
    in its place.  A line a hunk rewrote maps to the hunk's new line at the same offset
    (its last one when the hunk got shorter)."""
    shift = 0
    for old, old_len, new, new_len in hunks:
        if old_len and old <= line < old + old_len:
            return new + min(line - old, new_len - 1) if new_len else None
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
        """Record one step's `git diff -U0`; returns the sites it changes (in base order):
        those whose line it rewrites, or whose condition it adds a line to."""
        hunks = hunks_by_file(diff)
        changed = []
        for site in self.sites:
            line = self.current_line(site)
            end = self.current_line(site, site.line_end) if site.line_end > site.line else None
            file_hunks = hunks.get(site.file, [])
            if line is not None and (removed(file_hunks, line) or (
                    end is not None and inserted_within(file_hunks, line, end))):
                changed.append(site)
                site.changed_by.append(label)
                if site.step is None:
                    site.outcome, site.step = "transformed", label
        self.earlier.append(hunks)
        return changed

    def current_line(self, site: Site, base_line: int = 0) -> int | None:
        """Where the site's line (or another base-tree line of its file) is now."""
        line: int | None = base_line or site.line
        for hunks in self.earlier:
            if line is None:
                return None
            line = map_line(hunks.get(site.file, []), line)
        return line
