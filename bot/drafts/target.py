"""Before any mail goes out: is the series still wanted on the tree the mail is for?

[tree.target] in bot.toml names a git remote and branch (e.g. the maintainer's next branch).
The check fetches it into the tree's repository (refs/cocci-bot/target/<tree>), then asks
three questions, in this order:

1. does a commit on the target that the series' base lacks carry a patch of the series
   (same `git patch-id --stable`)?  Someone else's patch got there first;
2. does such a commit change a line the series changes (the same call site, changed in
   another way)?
3. does the series still apply there (`git am --3way` in a scratch worktree, removed after)?

Any "yes, no" answer is a Hold: the send waits, and the queue and `status` say why.  Only
commits touching the series' files are read, so a kernel-sized history stays cheap.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot import defaults, git
from bot.apply import identity
from bot.drafts.policy import Hold
from bot.drafts.send import header
from bot.review.patchid import patch_id

_DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/", re.M)
_COMMIT = "\x1ecommit "


def check(repo: Path, tree: str, target: Any, base: str, files: list[Path]) -> Hold | None:
    """None when the series may be mailed to `target`; else why not (files: cover first)."""
    patches = [f for f in files if _DIFF_FILE.search(f.read_text(errors="replace"))]
    if not patches:
        return None
    head = fetch(repo, tree, target)
    name = f"{target.branch} of {target.url}"
    paths = sorted({p for f in patches for p in _DIFF_FILE.findall(f.read_text())})
    commits = _commits(repo, base, head, paths)
    ours = {patch_id(f.read_text(), f.name): f for f in patches}
    for sha, subject, diff in commits:
        if not diff:
            continue
        mine = ours.get(patch_id(diff, f"commit {sha}"))
        if mine is not None:
            return Hold(f"target {name} already has {_subject(mine)} as {sha[:12]} "
                        f"(\"{subject}\", same patch-id): someone else's patch got there first")
    removed = {f: _removed(f.read_text()) for f in patches}
    for sha, subject, diff in commits:
        theirs = _removed(diff)
        for f, lines in removed.items():
            same = sorted(lines & theirs)
            if same:
                path, text = same[0]
                return Hold(f"target {name} has {sha[:12]} (\"{subject}\"), which changes "
                            f"the same call site as {_subject(f)}: {path}: {text.strip()!r}")
    return _applies(repo, head, patches, name)


def fetch(repo: Path, tree: str, target: Any) -> str:
    ref = f"refs/cocci-bot/target/{tree}"
    git.git(repo, "fetch", "--quiet", "--no-tags", target.url,
            f"+refs/heads/{target.branch}:{ref}", timeout=defaults.TIMEOUT_FETCH)
    return git.out(repo, "rev-parse", ref)


def _commits(repo: Path, base: str, head: str, paths: list[str]) -> list[tuple[str, str, str]]:
    """(sha, subject, diff) of each non-merge commit in base..head touching `paths`."""
    out = git.git(repo, "log", "--no-merges", "--no-color", "-p", f"--format={_COMMIT}%H %s",
                  f"{base}..{head}", "--", *paths).stdout
    commits = []
    for chunk in out.split(_COMMIT)[1:]:
        first, _, diff = chunk.partition("\n")
        sha, _, subject = first.partition(" ")
        commits.append((sha, subject, diff.strip("\n") + "\n" if diff.strip() else ""))
    return commits


def _removed(diff: str) -> set[tuple[str, str]]:
    """(file, line) for each line the diff removes or rewrites (its '-' lines)."""
    found: set[tuple[str, str]] = set()
    path, in_hunk = "", False
    for line in diff.splitlines():
        m = _DIFF_FILE.match(line)
        if m:
            path, in_hunk = m.group(1), False
        elif line.startswith("@@"):
            in_hunk = True
        elif line == "-- ":   # format-patch's signature: the diff ended
            break
        elif in_hunk and line.startswith("-") and line[1:].strip():
            found.add((path, line[1:]))
    return found


def _applies(repo: Path, head: str, patches: list[Path], name: str) -> Hold | None:
    scratch = Path(tempfile.mkdtemp(prefix="cocci-bot-target-"))
    work = scratch / "tree"
    try:
        git.git(repo, "worktree", "add", "--detach", "--quiet", str(work), head,
                timeout=defaults.TIMEOUT_BUILD_CHECKOUT)
        # a scratch commit nobody sees: the bot's reserved, never-answering domain
        env = git.bot_env("cocci-bot target check", f"target-check@{identity.BOT_DOMAIN}")
        res = git.git(work, "am", "--3way", "--quiet", *map(str, patches), env=env,
                      check=False)
        if not res.ok:
            git.git(work, "am", "--abort", check=False)
            return Hold(f"the series no longer applies to target {name} ({head[:12]}): "
                        f"git am --3way: {res.tail()}")
        return None
    finally:
        git.git(repo, "worktree", "remove", "--force", str(work), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        git.git(repo, "worktree", "prune", check=False)


def _subject(f: Path) -> str:
    return header(f, "Subject") or f.name
