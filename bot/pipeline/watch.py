"""What to run: the releases of each configured tree, as (tree, repo, tag, base) candidates."""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass
from pathlib import Path

from bot import git
from bot.errors import CocciBotError, UserError
from bot.pipeline.config import Tree

log = logging.getLogger("bot.watch")


@dataclass(frozen=True)
class Release:
    tree: Tree
    repo: Path
    tag: str
    base: str


def mirror_repo(data_dir: Path) -> Path:
    return data_dir / "mirrors" / "debian-linux.git"


def releases(tree: Tree, data_dir: Path) -> list[Release]:
    """The releases to run for one tree, oldest first."""
    if tree.source == "debian":
        repo = mirror_repo(data_dir)
        _mirror(tree, data_dir, repo)
        tags = [f"v{r.split('-')[0]}" for r in tree.releases]
    else:
        assert tree.path is not None
        repo = git.toplevel(tree.path)
        listed = git.out(repo, "tag", "--list", "--sort=version:refname")
        tags = [t for t in listed.splitlines() if fnmatch.fnmatchcase(t, tree.tags)]
        if not tags:
            log.info("watch: %s has no tag matching %r", tree.name, tree.tags)
    return [Release(tree, repo, tag, git.resolve(repo, tag)) for tag in tags]


def _mirror(tree: Tree, data_dir: Path, repo: Path) -> None:
    """`cocci-bot mirror` for the tree's releases (downloads cached, present ones skipped)."""
    from bot import cli

    rc = cli.main(["mirror", "--data-dir", str(data_dir), "--repo", str(repo), *tree.releases])
    if rc == 2:
        raise UserError(f"tree {tree.name}: the releases {list(tree.releases)} could not be "
                        "mirrored (see the error above): fix releases in bot.toml")
    if rc != 0:
        raise CocciBotError(f"tree {tree.name}: cocci-bot mirror failed (exit {rc})")
