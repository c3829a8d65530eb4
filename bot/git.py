"""git, through the subprocess door: always `git -C <repo>`, never os.chdir.

cocci-bot drives the git CLI rather than a binding: worktrees, format-patch, am,
range-diff and grep are what it needs, and the CLI is what a maintainer would
run to reproduce any step.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot import defaults, proc
from bot.errors import InfraError, UserError


def git(repo: Path | str, *args: str, timeout: float = defaults.TIMEOUT_GIT,
        env: dict[str, str] | None = None, check: bool = True,
        input: str | None = None) -> proc.Result:
    return proc.run(["git", "-C", os.fspath(repo), *args], timeout=timeout, env=env,
                    check=check, input=input)


def out(repo: Path | str, *args: str, timeout: float = defaults.TIMEOUT_GIT) -> str:
    return git(repo, *args, timeout=timeout).stdout.strip()


def toplevel(path: Path) -> Path:
    """The work tree (or bare repo) that holds `path`; UserError when it is not a git tree."""
    if not path.exists():
        raise UserError(f"{path} does not exist: pass --tree the path of a kernel git checkout")
    res = git(path, "rev-parse", "--git-dir", check=False)
    if not res.ok:
        raise UserError(f"{path} is not a git tree: pass --tree a git checkout of a kernel "
                        "(cocci-bot mirror makes one from Debian's packages)")
    return path.resolve()


def resolve(repo: Path, rev: str) -> str:
    """The 40-hex commit `rev` names in `repo`; UserError naming the rev when unknown."""
    if rev.startswith("-"):
        raise UserError(f"{rev!r} is not a revision: pass a tag, branch or commit id")
    res = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}",
              check=False)
    if not res.ok:
        raise UserError(f"unknown revision {rev!r} in {repo}: pass a tag, branch or commit "
                        "(git -C TREE tag --list shows the tags)")
    return res.stdout.strip()


def export(repo: Path | str, rev: str, names: tuple[str, ...], dest: Path) -> list[str]:
    """Write files of commit `rev` under `dest` (same relative paths); returns the names
    `rev` does not have. Works on bare repos: nothing is checked out."""
    missing = []
    for name in names:
        res = git(repo, "show", f"{rev}:{name}", check=False)
        if not res.ok:
            missing.append(name)
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(res.stdout)
    return missing


def bot_env(name: str, email: str, date: str | None = None) -> dict[str, str]:
    """Author and committer identity for the bot's commits (explicit, not the user's config)."""
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    return env


def require_git() -> None:
    if proc.which("git") is None:
        raise InfraError("git not found: " + proc.INSTALL_HINTS["git"])
