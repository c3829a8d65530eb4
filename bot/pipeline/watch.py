"""What to run: the releases of each configured tree, as (tree, repo, tag, base) candidates.

git trees (`path` = a local repository, or `url` = a remote fetched into
DATA_DIR/remotes/<tree>.git with the git CLI, so credentials and URL rewrites stay in git's
own config): one fetch and one `git for-each-ref` per poll.  The first poll records where the
tree stands in DATA_DIR/watch/<tree>.json and runs only the newest tag matching `tags` (or
`since` onwards) and the heads of `branches`; later polls run the tags that are new, a head
that moved (a job on its new commit), and a tag that moved (said, and run on its new commit).

debian trees: `releases` is a list of versions, or a glob ("5.10.*") over what apt offers
after `apt-get update`; each release is mirrored by bot.mirror.stage; one that cannot be
downloaded is skipped with apt's reason and asked again on the next poll.

Every poll returns every release the tree ever scheduled (oldest first): the store knows
which jobs are finished, and an unfinished one (waiting for a review) is resumed.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import defaults, git, jsonfile, proc
from bot.errors import CocciBotError, TreeUnavailable, UserError
from bot.log import progress
from bot.mirror import apt, stage
from bot.mirror.versions import parse_request
from bot.pipeline.config import Tree

log = logging.getLogger("bot.watch")
STATE_SCHEMA = 1


@dataclass(frozen=True)
class TreeRelease:
    """A release (tag or branch head) of a watched tree, in this host's copy of it."""
    tree: Tree
    repo: Path
    tag: str
    base: str


def mirror_repo(data_dir: Path) -> Path:
    return data_dir / "mirrors" / "debian-linux.git"


def remote_repo(tree: Tree, data_dir: Path) -> Path:
    return data_dir / "remotes" / f"{tree.name}.git"


def state_path(tree: Tree, data_dir: Path) -> Path:
    return data_dir / "watch" / f"{tree.name}.json"


def releases(tree: Tree, data_dir: Path) -> list[TreeRelease]:
    """The releases to run for one tree, oldest first (one poll)."""
    if tree.source == "debian":
        return debian_releases(tree, data_dir)
    return git_releases(tree, data_dir)


# --- git trees ----------------------------------------------------------------------------------

def git_releases(tree: Tree, data_dir: Path) -> list[TreeRelease]:
    if tree.url:
        repo = remote_repo(tree, data_dir)
        fetch(tree, repo)
    else:
        assert tree.path is not None
        repo = git.toplevel(tree.path)
    all_tags, heads = list_refs(repo)
    tags = {name: commit for name, commit in all_tags.items()
            if fnmatch.fnmatchcase(name, tree.tags)}
    path = state_path(tree, data_dir)
    seen = load_seen(path)
    new, said = plan(tree, seen, tags, heads)
    for line in said:
        log.warning("watch: %s: %s", tree.name, line)
    selected = [tuple(p) for p in (seen or {}).get("selected", [])]
    selected += [p for p in new if p not in selected]
    jsonfile.write(path, {"schema": STATE_SCHEMA, "tree": tree.name,
                          "source": tree.url or str(repo), "tags": tags,
                          "branches": {b: heads[b] for b in tree.branches if b in heads},
                          "selected": [list(p) for p in selected]})
    if new:
        progress("watch", f"{tree.name}: new: {', '.join(name for name, _ in new)}")
    elif not selected:
        log.info("watch: %s has no tag matching %r", tree.name, tree.tags)
    return [TreeRelease(tree, repo, name, commit) for name, commit in selected]


def load_seen(path: Path) -> dict[str, Any] | None:
    """What the last poll recorded, or None before the first."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}): remove it, the next poll starts "
                        "the tree afresh") from exc
    return data


def plan(tree: Tree, seen: dict[str, Any] | None, tags: dict[str, str],
         heads: dict[str, str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, commit) pairs to run now, and what to say about the tree. `tags` is in version
    order (matching only); `seen` is the last poll's record (None: the first poll)."""
    said: list[str] = []
    if seen is None:
        new = _first(tree, tags, said)
    else:
        new = []
        for name, commit in tags.items():
            old = seen.get("tags", {}).get(name)
            if old is None:
                new.append((name, commit))
            elif old != commit:
                said.append(f"tag {name} moved from {old[:12]} to {commit[:12]}: it runs "
                            "again on its new commit")
                new.append((name, commit))
    old_heads = (seen or {}).get("branches", {})
    for branch in tree.branches:
        head = heads.get(branch)
        if head is None:
            said.append(f"branch {branch!r} is not in the tree: check branches in bot.toml")
            continue
        if old_heads.get(branch) != head:
            if branch in old_heads:
                said.append(f"branch {branch} moved from {old_heads[branch][:12]} to "
                            f"{head[:12]}")
            new.append((f"{branch}@{head[:12]}", head))
    return new, said


def _first(tree: Tree, tags: dict[str, str], said: list[str]) -> list[tuple[str, str]]:
    names = list(tags)
    if tree.since:
        if tree.since not in tags:
            raise UserError(f"tree {tree.name}: since = {tree.since!r} is not a tag matching "
                            f"{tree.tags!r}: name one of its tags (git tag --list)")
        return [(n, tags[n]) for n in names[names.index(tree.since):]]
    if not names:
        return []
    if len(names) > 1:
        said.append(f"first poll: {len(names)} tags match {tree.tags!r}; running only the "
                    f"newest, {names[-1]} (since = \"TAG\" runs from an older one)")
    return [(names[-1], tags[names[-1]])]


def list_refs(repo: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Tags (version order) and heads with the commits they point at: one git call."""
    out = git.out(repo, "for-each-ref", "--sort=version:refname",
                  "--format=%(refname)%00%(objectname)%00%(*objectname)",
                  "refs/tags", "refs/heads")
    tags: dict[str, str] = {}
    heads: dict[str, str] = {}
    for line in out.splitlines():
        ref, obj, peeled = line.split("\0")
        if ref.startswith("refs/tags/"):
            tags[ref.removeprefix("refs/tags/")] = peeled or obj
        else:
            heads[ref.removeprefix("refs/heads/")] = obj
    return tags, heads


def fetch(tree: Tree, repo: Path) -> None:
    """One `git fetch` of the tree's tags and followed heads into the bare `repo`."""
    assert tree.url is not None
    if not (repo / "HEAD").exists():
        repo.parent.mkdir(parents=True, exist_ok=True)
        proc.run(["git", "init", "--quiet", "--bare", str(repo)])
    specs = ["+refs/tags/*:refs/tags/*", *(f"+refs/heads/{b}:refs/heads/{b}"
                                            for b in tree.branches)]
    progress("watch", f"{tree.name}: fetch {tree.url} ...")
    start = time.monotonic()
    res = git.git(repo, "fetch", "--progress", "--prune", "--no-tags", "--end-of-options",
                  tree.url, *specs, timeout=defaults.TIMEOUT_FETCH, check=False)
    if not res.ok:
        raise TreeUnavailable(f"git fetch {tree.url} failed (exit {res.returncode}): "
                         f"{_last_line(res.stderr)}: check the URL, the network and git's "
                         "credentials config (asked again next poll)")
    updates = [ln.strip() for ln in res.stderr.splitlines() if ln.startswith((" * ", " + ", " t "))]
    received = [ln for ln in res.stderr.replace("\r", "\n").splitlines()
                if ln.startswith(("Receiving objects", "Resolving deltas")) and "done" in ln]
    progress("watch", f"{tree.name}: fetched in {time.monotonic() - start:.0f} s"
             + (f", {received[0].split(':', 1)[1].strip().removesuffix(', done.')}"
                if received else "")
             + (f"; {len(updates)} ref(s) updated" if updates else "; nothing new"))
    for line in updates:
        log.info("watch: %s: %s", tree.name, line)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


# --- debian trees -------------------------------------------------------------------------------

def debian_releases(tree: Tree, data_dir: Path) -> list[TreeRelease]:
    repo = mirror_repo(data_dir)
    versions = apt_versions(tree, data_dir) if isinstance(tree.releases, str) \
        else list(tree.releases)
    mirrored, failed = [], []
    for version in versions:
        try:
            request = parse_request(version)
            stage.mirror([request], repo, data_dir)
        except CocciBotError as exc:
            log.warning("watch: %s: release %s skipped: %s (asked again next poll)",
                        tree.name, version, exc)
            failed.append(exc)
            continue
        mirrored.append(request.upstream.tag)
    if failed and not mirrored:
        raise failed[0]
    tags, _heads = list_refs(repo)
    return [TreeRelease(tree, repo, tag, tags[tag]) for tag in tags if tag in mirrored]


def apt_versions(tree: Tree, data_dir: Path) -> list[str]:
    """The upstream versions apt offers that match the tree's glob, oldest first."""
    assert isinstance(tree.releases, str)
    apt_update(data_dir)
    offered = {o.upstream for o in apt.query_offers()}
    matching = sorted(v for v in offered if fnmatch.fnmatchcase(str(v), tree.releases))
    if not matching:
        log.warning("watch: %s: apt offers no release matching %r (cocci-bot mirror --list "
                    "shows what it offers)", tree.name, tree.releases)
    return [str(v) for v in matching]


def apt_update(data_dir: Path) -> None:
    """`apt-get update`, at most once per defaults.WATCH_APT_UPDATE_EVERY seconds."""
    stamp = data_dir / "watch" / "apt-update.stamp"
    if stamp.exists() and time.time() - stamp.stat().st_mtime < defaults.WATCH_APT_UPDATE_EVERY:
        return
    res = proc.run(["apt-get", "update", "-q"], timeout=defaults.TIMEOUT_APT, check=False)
    if not res.ok:
        log.warning("watch: apt-get update failed (%s): using the lists apt already has",
                    _last_line(res.stderr))
        return
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
