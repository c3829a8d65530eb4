"""The source checkout the builds use: one git worktree per tree, at a stable path (so the
compiler command lines, hence ccache keys and incremental builds, stay the same from run to
run), moved between revisions with a forced checkout (git gives every rewritten file a new
mtime, which is what make needs to rebuild exactly what changed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot import defaults, git
from bot.errors import UserError


def work_root(work_dir: Path, tree: Path) -> Path:
    """work_dir/<tree name>-<hash of its path>: src/ and obj/."""
    digest = hashlib.sha256(str(tree.resolve()).encode()).hexdigest()[:12]
    return work_dir / f"{tree.resolve().name}-{digest}"


def checkout(tree: Path, src: Path, rev: str) -> None:
    """Put `src` (a detached worktree of `tree`) at `rev`, clean."""
    if not (src / ".git").exists():
        src.parent.mkdir(parents=True, exist_ok=True)
        git.git(tree, "worktree", "prune")
        git.git(tree, "worktree", "add", "--force", "--detach", str(src), rev,
                timeout=defaults.TIMEOUT_BUILD_CHECKOUT)
        return
    git.git(src, "checkout", "--force", "--detach", rev, timeout=defaults.TIMEOUT_BUILD_CHECKOUT)
    git.git(src, "clean", "-fdxq", timeout=defaults.TIMEOUT_BUILD_CHECKOUT)


def default_base(tree: Path, rev: str) -> str:
    """The commit the series sits on: walk REV's first parents past the bot's own commits
    (committer defaults.BOT_EMAIL); when REV is not a bot commit, its first parent."""
    log = git.out(tree, "log", "--first-parent", "--format=%H %ce", "-n", "1000", rev)
    chain = [line.split(" ", 1) for line in log.splitlines()]
    for i, (sha, email) in enumerate(chain):
        if email != defaults.BOT_EMAIL:
            return sha if i > 0 else _first_parent(tree, rev)
    raise UserError(f"could not find the base of {rev}: pass --base REV")


def _first_parent(tree: Path, rev: str) -> str:
    res = git.git(tree, "rev-parse", "--verify", "--quiet", f"{rev}^1", check=False)
    if not res.ok:
        raise UserError(f"{rev} has no parent to use as base: pass --base REV")
    return res.stdout.strip()


def touched_c_files(tree: Path, base: str, rev: str) -> list[str]:
    out = git.out(tree, "diff", "--name-only", "--diff-filter=AM", base, rev, "--", "*.c")
    return [line for line in out.splitlines() if line]
