"""The mirror repository: one commit per kernel release, in version order, tagged vX.Y.Z.

History is a single chain ordered by upstream version (5.10.46 -> 5.10.218 -> 5.10.223 ->
6.1.176), whatever order the releases were asked for. Each release commit is a pure
function of its tree, its message, its date (the tarball's top-level Makefile mtime) and
its parent, with the fixed bot identity, so the same set of releases always gives the
same commit ids.

Adding a release older than some already present (the chosen policy): the new commit goes
in its place in the chain, and every later release commit is re-created with
`git commit-tree` on its unchanged tree, message and dates, onto the new parent; the tags
(and the debian/X.Y branches) then move to the re-created commits in one atomic
`git update-ref --stdin` transaction. Trees never change, so worktrees and builds based on
a release stay valid; the superseded commits stay reachable from any worktree or branch
that uses them and are otherwise left to `git gc`. The result is identical to importing
all releases in version order from the start.

Refs the mirror owns: refs/tags/vX.Y.Z (lightweight, on release commits) and
refs/heads/debian/X.Y (the newest release of each series). In a bare mirror HEAD points
at the newest series' branch. A vX.Y.Z tag the mirror did not make is an error: the mirror
never rewrites history it did not write.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import defaults, proc
from bot import git as botgit
from bot.errors import InfraError, UserError
from bot.log import progress
from bot.mirror.versions import Upstream, tag_version

TRAILER = "Mirrored-from:"
LOCK_NAME = "cocci-bot-mirror.lock"


@dataclass(frozen=True)
class Release:
    """A release commit (or one to be made): version, tree, message, date ('<epoch> +0000')."""

    version: Upstream
    tree: str
    message: str
    date: str
    commit: str | None = None
    parent: str | None = None

    @property
    def source(self) -> str:
        """What it came from: the Mirrored-from trailer value ('linux-source-5.10 5.10.223-1')."""
        for line in self.message.splitlines():
            if line.startswith(TRAILER):
                return line[len(TRAILER):].strip()
        return "?"


# --- opening ----------------------------------------------------------------------------------

def ensure(repo: Path) -> Path:
    """Create a bare mirror at `repo` if nothing is there; return its git dir."""
    botgit.require_git()
    if repo.exists() and any(repo.iterdir()):
        res = botgit.git(repo, "rev-parse", "--absolute-git-dir", check=False)
        if not res.ok:
            raise UserError(f"{repo} exists and is not a git repository: pass --repo an empty "
                            "or new path, or an existing mirror")
        return Path(res.stdout.strip())
    repo.mkdir(parents=True, exist_ok=True)
    botgit.git(repo, "init", "--bare", "--quiet", "--initial-branch=main")
    # a whole-kernel auto-gc in someone's worktree commit would take minutes: the mirror
    # packs what it imports itself (see pack()).
    botgit.git(repo, "config", "gc.auto", "0")
    return repo.resolve()


def is_bare(gitdir: Path) -> bool:
    return botgit.out(gitdir, "rev-parse", "--is-bare-repository") == "true"


@contextlib.contextmanager
def locked(gitdir: Path, timeout: float = defaults.TIMEOUT_MIRROR_LOCK) -> Iterator[None]:
    """Hold the mirror's lock: one `cocci-bot mirror` per repository at a time."""
    with (gitdir / LOCK_NAME).open("a") as fh:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InfraError(f"another cocci-bot mirror has held {gitdir / LOCK_NAME} "
                                     f"for {timeout:g} s: wait for it or stop it") from None
                if not told:
                    progress("mirror", f"waiting for another cocci-bot mirror on {gitdir}")
                    told = True
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- reading the chain ------------------------------------------------------------------------

def releases(gitdir: Path) -> list[Release]:
    """The release commits the tags name, in version order; UserError on foreign vX.Y.Z tags."""
    refs = botgit.out(gitdir, "for-each-ref",
                      "--format=%(refname:strip=2) %(objectname) %(*objectname)", "refs/tags")
    tagged: dict[str, Upstream] = {}
    names: dict[str, str] = {}
    for line in refs.splitlines():
        name, sha, peeled = (line.split(" ") + ["", ""])[:3]
        version = tag_version(name)
        if version is not None and peeled:  # annotated: the mirror only makes lightweight tags
            raise _foreign(name, gitdir)
        if version is not None:
            tagged[sha] = version
            names[sha] = name
    if not tagged:
        return []
    fmt = "%H%x00%T%x00%P%x00%ad%x00%B%x00%x01"
    log = botgit.out(gitdir, "log", "--no-walk=unsorted", "--date=raw", f"--format={fmt}",
                     *tagged)
    found: list[Release] = []
    for record in log.split("\x01"):
        fields = record.strip("\n").split("\x00")
        if len(fields) < 5:
            continue
        sha, tree, parent, date, message = fields[:5]
        if sha not in tagged:
            continue
        if TRAILER not in message:
            raise _foreign(names[sha], gitdir)
        found.append(Release(tagged[sha], tree, message.rstrip("\n") + "\n", date, sha,
                             parent or None))
    return sorted(found, key=lambda r: r.version)


def _foreign(tag: str, gitdir: Path) -> UserError:
    return UserError(f"tag {tag} in {gitdir} was not made by cocci-bot mirror: pass --repo a "
                     "mirror made by cocci-bot mirror (or a new path)")


# --- importing a tree -------------------------------------------------------------------------

GIT_IMPORT_CONFIG = ("-c", "core.autocrlf=false", "-c", "core.safecrlf=false",
                     "-c", "core.fileMode=true", "-c", "core.symlinks=true",
                     "-c", "core.excludesFile=/dev/null")


def import_argv(gitdir: Path, worktree: Path) -> list[str]:
    """git add of a whole unpacked tree, ignore rules overridden (Debian's .gitignore ignores /*)."""
    return ["git", *GIT_IMPORT_CONFIG, "--git-dir", str(gitdir), "--work-tree", str(worktree),
            "add", "--all", "--force", "--", "."]


def write_tree(gitdir: Path, worktree: Path, index: Path) -> str:
    """Store every file under `worktree` in `gitdir` and return the tree id.

    A private index (GIT_INDEX_FILE) keeps the mirror's own index, if any, untouched.
    """
    env = {"GIT_INDEX_FILE": str(index)}
    proc.run(import_argv(gitdir, worktree), cwd=worktree, env=env,
             timeout=defaults.TIMEOUT_GIT_IMPORT)
    res = proc.run(["git", "--git-dir", str(gitdir), "write-tree"], cwd=worktree, env=env,
                   timeout=defaults.TIMEOUT_GIT)
    return res.stdout.strip()


def count_tree(gitdir: Path, tree: str) -> int:
    """Files (blobs, symlinks) in `tree`."""
    res = proc.run(["git", "--git-dir", str(gitdir), "ls-tree", "-r", "-z", "--name-only", tree],
                   timeout=defaults.TIMEOUT_GIT)
    return res.stdout.count("\x00")


def pack(gitdir: Path) -> None:
    """Pack loose objects (no delta search: fast, and kernel releases share most blobs)."""
    botgit.git(gitdir, "repack", "-d", "-q", "--window=0", timeout=defaults.TIMEOUT_GIT_IMPORT)
    botgit.git(gitdir, "prune-packed", "-q", timeout=defaults.TIMEOUT_GIT)


# --- writing the chain ------------------------------------------------------------------------

def commit_tree(gitdir: Path, rel: Release, parent: str | None) -> str:
    argv = ["commit-tree", "--no-gpg-sign", rel.tree, *(["-p", parent] if parent else []),
            "-F", "-"]
    date = rel.date if rel.date.startswith("@") else "@" + rel.date  # git's unambiguous form
    return botgit.git(gitdir, *argv, env=botgit.bot_env(*defaults.MIRROR_IDENT, date=date),
                      input=rel.message).stdout.strip()


def place(existing: Sequence[Release], new: Release) -> list[Release]:
    """The chain with `new` in version order (replacing a release of the same version)."""
    kept = [r for r in existing if r.version != new.version]
    return sorted([*kept, new], key=lambda r: r.version)


def relink(gitdir: Path, chain: Sequence[Release]) -> tuple[list[Release], list[Release]]:
    """Give every release in `chain` (version order) the previous one as parent.

    Releases already on the right parent keep their commit; the others (new ones, and later
    ones after an insertion) are committed afresh on their tree. Returns (chain, re-created
    releases that had a commit before).
    """
    out: list[Release] = []
    moved: list[Release] = []
    parent: str | None = None
    for rel in chain:
        if rel.commit is not None and rel.parent == parent:
            out.append(rel)
        else:
            sha = commit_tree(gitdir, rel, parent)
            if rel.commit is not None:
                moved.append(rel)
            out.append(Release(rel.version, rel.tree, rel.message, rel.date, sha, parent))
        parent = out[-1].commit
    return out, moved


def ref_updates(gitdir: Path, old: Sequence[Release], new: Sequence[Release]) -> str:
    """`git update-ref --stdin` commands moving tags and debian/X.Y branches to `new`."""
    before = {r.version: r.commit for r in old}
    lines = []
    for rel in new:
        prev = before.get(rel.version)
        if prev != rel.commit:
            lines.append(f"update refs/tags/{rel.version.tag} {rel.commit} {prev or '0' * 40}")
    newest: dict[str, Release] = {}
    for rel in new:
        newest[rel.version.series] = rel  # version order: the last one wins
    for series, rel in newest.items():
        lines.append(f"update refs/heads/debian/{series} {rel.commit}")
    return "".join(line + "\n" for line in lines)


def add_release(gitdir: Path, new: Release) -> tuple[Release, list[Release]]:
    """Put `new` into the chain, re-parenting later releases; returns it and those re-parented."""
    old = releases(gitdir)
    chain, moved = relink(gitdir, place(old, new))
    botgit.git(gitdir, "update-ref", "--stdin", input=ref_updates(gitdir, old, chain))
    if is_bare(gitdir) and chain:
        newest = chain[-1].version.series
        botgit.git(gitdir, "symbolic-ref", "HEAD", f"refs/heads/debian/{newest}")
    mine = next(r for r in chain if r.version == new.version)
    return mine, moved


def message(version: Upstream, package: str, debian_version: str, filename: str,
            sha256: str, member: str | None) -> str:
    """The commit message of an imported release: names the package and version it came from."""
    what = (f"{filename}, {member} (the Debian-patched tree)" if member
            else f"{filename} (the upstream tarball of the source package)")
    return (f"Linux {version} from Debian {package} {debian_version}\n\n"
            f"Imported by cocci-bot mirror from {what}.\n\n"
            f"{TRAILER} {package} {debian_version}\n"
            f"Mirrored-file: {filename} sha256:{sha256}\n")


def makefile_date(tree_root: Path) -> str:
    """The release date for the commit: the top-level Makefile's mtime as shipped."""
    try:
        mtime = int((tree_root / "Makefile").stat().st_mtime)
    except FileNotFoundError as exc:
        raise InfraError(f"{tree_root} has no top-level Makefile: not a kernel tree") from exc
    return f"{mtime} +0000"


def remove_tree(path: Path) -> None:
    """rm -rf that also copes with read-only folders inside unpacked tarballs."""
    def fix(func, p, _exc):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)

    if path.exists():
        shutil.rmtree(path, onerror=fix)
