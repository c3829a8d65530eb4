"""Regenerate, don't rebase: what vN+1 says about vN.

The bot has both series in its trees, so it computes the real `git range-diff` between them,
and the call sites that appeared, vanished or changed class between the two report.json files.
Both go with the series to the queue (`range_diff`, `site_delta`) and into the cover letters.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import defaults, git

_SHORTLOG = re.compile(r"^\S.* \(\d+\):$", re.M)


@dataclass(frozen=True)
class Previous:
    """The job that posted the previous version of the same campaign on the same tree (the
    pipeline finds it in the job store and reads it from its run record)."""
    run_dir: Path
    version: int
    series_id: int
    cover_message_id: str | None   # its mail's Message-ID (drafts), else the queue's
    report: dict[str, Any]


def range_diff(repo: Path, old: tuple[str, str], new: tuple[str, str]) -> str:
    """`git range-diff old_base..old_head new_base..new_head`, uncoloured."""
    return git.git(repo, "range-diff", "--no-color", f"{old[0]}..{old[1]}",
                   f"{new[0]}..{new[1]}", timeout=defaults.TIMEOUT_RANGE_DIFF).stdout


def _key(site: dict[str, Any]) -> tuple[str, str, str]:
    # line numbers move between releases: a site is its file, function and expression
    return (site.get("file", ""), site.get("function", ""), site.get("expression", ""))


def site_delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Call sites of report `new` that `old` lacked (appeared), the reverse (vanished), and
    those in both whose class differs (changed, with `was`)."""
    old_sites, new_sites = old.get("sites", []), new.get("sites", [])
    old_count, new_count = Counter(map(_key, old_sites)), Counter(map(_key, new_sites))
    appeared = _excess(new_sites, old_count)
    vanished = _excess(old_sites, new_count)
    old_class: dict[tuple[str, str, str], str] = {}
    for s in old_sites:
        old_class.setdefault(_key(s), s.get("class", ""))
    changed = []
    for s in new_sites:
        was = old_class.get(_key(s))
        if was is not None and was != s.get("class", "") and s not in appeared:
            changed.append({**s, "was": was})
    return {"appeared": appeared, "vanished": vanished, "changed": changed}


def _excess(sites: list[dict[str, Any]], other: Counter) -> list[dict[str, Any]]:
    left = Counter(other)
    out = []
    for s in sites:
        if left[_key(s)] > 0:
            left[_key(s)] -= 1
        else:
            out.append(s)
    return out


def changes_text(prev: Previous, new_report: dict[str, Any],
                 delta: dict[str, list[dict[str, Any]]]) -> str:
    """The cover letter's "Changes since vN" section, from the two runs."""
    old_tag = prev.report.get("tag") or prev.report.get("base", "")[:12]
    new_tag = new_report.get("tag") or new_report.get("base", "")[:12]
    lines = [f"Changes since v{prev.version} (regenerated on {new_tag}, v{prev.version} was "
             f"generated on {old_tag}):"]
    for what, verb in (("appeared", "new call site"), ("vanished", "call site gone"),
                       ("changed", "class changed")):
        for s in delta[what]:
            where = f"{s.get('file')}: {s.get('function')}(): {s.get('expression')}"
            cls = f"{s['was']} -> {s.get('class')}" if what == "changed" else s.get("class")
            lines.append(f"- {verb}: {where} [{cls}]")
    if len(lines) == 1:
        lines.append("- the same call sites, in the same classes")
    return "\n".join(lines)


def with_changes(cover: str, text: str) -> str:
    """The cover letter with `text` after its blurb (before the shortlog)."""
    m = _SHORTLOG.search(cover)
    if m is None:
        return cover.rstrip("\n") + "\n\n" + text + "\n"
    return cover[:m.start()] + text + "\n\n" + cover[m.start():]
