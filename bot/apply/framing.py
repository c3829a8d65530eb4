"""What a series is on a given tree, and how the kernel's conventions dress it.

- The tree's kind: `stable` (a point release x.y.z of a maintained line, every Debian tree) or
  `mainline` (a development tree).  Given by bot.toml (`[[tree]] kind`) or `--tree-kind`;
  otherwise: a base that is a release tag vX.Y.Z is stable, anything else mainline.
- The series' kind: it fixes something when a step of kind "fix" committed; otherwise it is
  cleanup only.  A cleanup-only series on a stable tree is an RFC: stable takes fixes only.
- Subject prefixes: as the tree's own history names the touched files (git log, where the tree
  has that history), else the campaign's [[era]] table for the tree's version.
- Subject tags: `[PATCH 5.10]` on a stable tree, `[RFC PATCH ...]` for a cleanup-only series
  there; the cover's subject capitalised like the patches'.
- Trailers: Fixes: and the upstream commit's credits on a fix step that redoes an upstream
  commit (with the stable convention "[ Upstream commit ID ]" and a note of how it differs),
  Suggested-by: on the steps that automate someone's proposal, the campaign's Link: once.
"""

from __future__ import annotations

import collections
import fnmatch
import re
from dataclasses import dataclass

from bot import git
from bot.apply.campaign import Campaign, Step
from bot.errors import UserError

TREE_KINDS = ("stable", "mainline")
STABLE_TAG = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
PREFIX = re.compile(r"^((?:[A-Za-z][\w/.-]*: )+)")
# git log of the touched files: enough subjects to see the habit, few enough to be quick
HISTORY = 300
MIN_HISTORY = 5


@dataclass(frozen=True)
class Frame:
    """The tree as the messages see it."""
    kind: str                      # "stable" | "mainline"
    version: tuple[int, ...]       # (5, 10, 46); () when unknown

    @property
    def line(self) -> str:
        """The stable line "5.10" ('' if the version is unknown)."""
        return ".".join(map(str, self.version[:2]))


def tree_kind(given: str | None, tag: str | None) -> str:
    """The tree's kind: as given, else stable when the base is a release tag vX.Y.Z."""
    if given is not None:
        if given not in TREE_KINDS:
            raise UserError(f"tree kind {given!r}: use stable or mainline")
        return given
    return "stable" if tag and STABLE_TAG.match(tag) else "mainline"


def version(tree_path: str, tag: str | None, makefile: str | None) -> tuple[int, ...]:
    """The tree's version: its release tag, else the top Makefile's VERSION lines."""
    m = VERSION.match(tag or "")
    if m:
        return tuple(int(x) for x in m.groups() if x is not None)
    fields = dict(re.findall(r"(?m)^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)", makefile or ""))
    if "VERSION" in fields and "PATCHLEVEL" in fields:
        return tuple(int(fields[k]) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL") if k in fields)
    return ()


def subject_prefix(camp: Campaign, repo: str, base: str, files: list[str],
                   frame: Frame, default: str) -> str:
    """The prefix ("KVM: x86/mmu: ") for a patch touching `files`: the tree's own history of
    those files where it has one, else the campaign's [[era]] table, else `default`."""
    family = default.split(":", 1)[0]
    history = _history_prefix(repo, base, files, family)
    return history or _era_prefix(camp, files, frame) or default


def _history_prefix(repo: str, base: str, files: list[str], family: str) -> str:
    res = git.git(repo, "log", f"-{HISTORY}", "--no-merges", "--format=%s", base, "--",
                  *files, check=False)
    prefixes = [m.group(1) for s in res.stdout.splitlines() if (m := PREFIX.match(s))]
    ours = [p for p in prefixes if p.split(":", 1)[0].lower() == family.lower()]
    if len(ours) < MIN_HISTORY:
        return ""     # no history of these files to read the habit from (a release import)
    return collections.Counter(ours).most_common(1)[0][0]


def _era_prefix(camp: Campaign, files: list[str], frame: Frame) -> str:
    """The last [[era]] entry (since <= the tree's version) whose paths match every touched
    file."""
    chosen = ""
    for era in camp.eras:
        since = tuple(int(x) for x in str(era.get("since", "0")).split("."))
        if frame.version and frame.version[:len(since)] < since:
            continue
        if files and all(any(fnmatch.fnmatch(f, pat) for pat in era.get("paths", ["*"]))
                         for f in files):
            chosen = str(era["prefix"]).rstrip() + " "
    return chosen


def prefix_of(subject: str) -> str:
    """"KVM: x86: Do x" -> "KVM: x86: "."""
    m = PREFIX.match(subject)
    return m.group(1) if m else ""


def frame_note(camp: Campaign, frame: Frame, kinds: list[str], render) -> str:
    """What the series is on this tree, said first: which patches fix and which are
    cleanups; on a stable tree, a cleanup-only series is an RFC that stable would not take.
    `kinds` are the committed patches' step kinds in order; `render` fills a template."""
    fixes = [i for i, k in enumerate(kinds, start=1) if k == "fix"]
    cleanups = [i for i, k in enumerate(kinds, start=1) if k == "cleanup"]
    if fixes:
        text = f"{_patches(fixes, len(kinds)).capitalize()} {_verb(fixes, 'fixes', 'fix')} a " \
               "bug this tree has."
        if cleanups:
            text += f"  {_patches(cleanups, len(kinds)).capitalize()} " \
                    f"{_verb(cleanups, 'is a cleanup', 'are cleanups')} with no functional " \
                    "change."
        return text
    what = "This patch is" if len(kinds) == 1 else "This series is"
    text = f"{what} a cleanup with no functional change: it fixes nothing on this tree."
    if frame.kind == "stable":
        line = f"{frame.line}.y" if frame.line else "this stable line"
        text += ("  Stable trees take fixes only (Documentation/process/"
                 f"stable-kernel-rules.rst), so it is an RFC, not a submission to {line}.")
        if camp.stable_cleanup:
            text += "  " + render(camp.stable_cleanup)
    return text


def _patches(nums: list[int], total: int) -> str:
    if total == 1:
        return "this patch"
    if len(nums) == 1:
        return f"patch {nums[0]}"
    return "patches " + ", ".join(map(str, nums[:-1])) + f" and {nums[-1]}"


def _verb(nums: list[int], one: str, many: str) -> str:
    return one if len(nums) == 1 else many


def subject(camp: Campaign, step: Step, prefix: str) -> str:
    """A step's commit subject: a step that redoes an upstream commit keeps that commit's
    subject (the stable convention, and the name reviewers know it by); otherwise the
    manifest's subject in the tree's prefix."""
    entry = camp.commits.get(step.redoes[:12]) if step.redoes else None
    return str(entry["title"]) if entry else with_prefix(step.subject, prefix)


def with_prefix(subject: str, prefix: str) -> str:
    """The manifest subject with its prefix replaced; the summary capitalised."""
    summary = PREFIX.sub("", subject)
    return prefix + summary[:1].upper() + summary[1:]


def cover_subject(title: str) -> str:
    """The cover's subject capitalised like the patches' ("KVM: Split ...")."""
    m = PREFIX.match(title)
    head = m.group(1) if m else ""
    rest = title[len(head):]
    return head + rest[:1].upper() + rest[1:]


def subject_tag(frame: Frame, fixes: bool) -> str:
    """git format-patch --subject-prefix: PATCH, PATCH 5.10, RFC PATCH 5.10."""
    tag = "PATCH" if frame.kind != "stable" or not frame.line else f"PATCH {frame.line}"
    return tag if fixes or frame.kind != "stable" else f"RFC {tag}"


def trailers(camp: Campaign, step: Step, frame: Frame, single: bool) -> list[str]:
    """The kernel trailers of a step's commit, before the sign-off: the upstream commit's
    credits on a fix that redoes it, Suggested-by on the steps automating a proposal, the
    campaign's Link once (here only when the series is this one patch)."""
    out: list[str] = []
    entry = camp.commits.get(step.redoes[:12]) if step.redoes else None
    if entry is not None:
        out += [t for t in entry.get("trailers", []) if _keep(t, frame)]
    if step.fixes:
        fixed = camp.commits[step.fixes[:12]]
        fixes = f"Fixes: {step.fixes[:12]} (\"{fixed['title']}\")"
        if fixes not in out:
            out.append(fixes)
    out += [f"Suggested-by: {who}" for who in step.suggested_by]
    if single and camp.link:
        out.append(f"Link: {camp.link}")
    return out


def _keep(trailer: str, frame: Frame) -> bool:
    """Upstream trailers a redone commit keeps: Cc: stable only where the patch is for a
    stable tree (its whole point there)."""
    return not trailer.lower().startswith("cc: stable") or frame.kind == "stable"


def upstream_line(camp: Campaign, step: Step, frame: Frame) -> str:
    """The stable convention's first line for a patch that redoes an upstream commit."""
    entry = camp.commits.get(step.redoes[:12]) if step.redoes else None
    if entry is None or frame.kind != "stable":
        return ""
    return commit_ref(str(entry.get("id", step.redoes))[:12], str(entry["title"]), " upstream.")


def commit_ref(sha: str, title: str, tail: str = "", width: int = 75) -> str:
    """`commit SHA ("TITLE")TAIL` as checkpatch's GIT_COMMIT_ID wants it, at most `width`
    columns a line: when it is longer, the first line ends inside the title and the second
    line carries the rest of it (the split checkpatch reads as one description)."""
    text = f'commit {sha} ("{title}"){tail}'
    if len(text) <= width:
        return text
    words, first = title.split(), f'commit {sha} ("'
    while len(words) > 1 and len(first + words[0]) < width:
        first += words.pop(0) + " "
    return first.rstrip() + "\n" + " ".join(words) + f'"){tail}'

