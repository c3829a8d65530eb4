"""Kernel git repos for the slow tests, cached across runs under cache_dir()/test-trees.

`ensure_kernel_repo()` git-initialises a copy of the extracted Debian tree (all files added
with -f: Debian's .gitignore ignores the top level) and tags it v5.10.223, with a fixed
identity and date so its commit id is the same every time. The lead will point the
`kernel_repo` fixture at the mirror stage's `debian_mirror` fixture at merge.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot import defaults

SOURCE = Path(os.environ.get("COCCI_BOT_TEST_TREE", "/work/trees/linux-5.10.223"))
TAG = "v5.10.223"
FIXED = {"GIT_AUTHOR_NAME": "Test Import", "GIT_AUTHOR_EMAIL": "import@example.org",
         "GIT_COMMITTER_NAME": "Test Import", "GIT_COMMITTER_EMAIL": "import@example.org",
         "GIT_AUTHOR_DATE": "2024-07-27T00:00:00Z", "GIT_COMMITTER_DATE": "2024-07-27T00:00:00Z"}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **FIXED, **(env or {})}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=full_env, timeout=1800).stdout.strip()


def ensure_kernel_repo() -> Path:
    repo = defaults.cache_dir() / "test-trees" / SOURCE.name
    if (repo / ".git").is_dir() and git(repo, "tag", "--list", TAG) == TAG:
        return repo
    tmp = repo.with_name(repo.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(SOURCE), str(tmp)], check=True, timeout=1800)
    git(tmp, "init", "-q", "-b", "master")
    git(tmp, "add", "-f", "-A")
    git(tmp, "commit", "-q", "-m", f"Linux {TAG[1:]} (Debian source)")
    git(tmp, "tag", TAG)
    shutil.rmtree(repo, ignore_errors=True)
    tmp.rename(repo)
    return repo


def commit_change(repo: Path, branch: str, edits: dict[str, tuple[str, str]], message: str,
                  base: str = TAG) -> str:
    """Make (once) a commit on top of `base` replacing old->new text in files; return its sha.

    Built in a temporary index with fixed dates, so the same edits give the same commit.
    """
    existing = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                               f"refs/heads/{branch}"], capture_output=True, text=True)
    if existing.returncode == 0:
        return existing.stdout.strip()
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir"))   # bare or not
    index = git_dir / f"index-{branch.replace('/', '-')}"
    env = {"GIT_INDEX_FILE": str(index)}
    git(repo, "read-tree", base, env=env)
    for path, (old, new) in edits.items():
        text = git(repo, "show", f"{base}:{path}") + "\n"
        assert old in text, f"{old!r} not in {path}"
        blob = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"],
                              input=text.replace(old, new, 1), capture_output=True, text=True,
                              check=True).stdout.strip()
        git(repo, "update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(repo, "write-tree", env=env)
    index.unlink()
    sha = git(repo, "commit-tree", tree, "-p", base, "-m", message)
    git(repo, "update-ref", f"refs/heads/{branch}", sha)
    return sha


# --- Linux 4.20.1, the RFC's own base (shared/kernels/, read-only test data) -------------------

SHARED_KERNELS = Path(__file__).resolve().parents[2] / "shared" / "kernels"
TARBALL_4_20 = Path(os.environ.get("COCCI_BOT_4_20_TARBALL",
                                   str(SHARED_KERNELS / "linux-4.20.1.tar.xz")))
TAG_4_20 = "v4.20.1"


def ensure_linux_4_20_repo() -> Path:
    """A bare git repo holding Linux 4.20.1 as one commit tagged v4.20.1, cached in cache_dir().

    Fixed identity and dates: the same commit id on every machine. Built once (about a minute).
    """
    repo = defaults.cache_dir() / "test-trees" / "linux-4.20.1.git"
    if repo.is_dir() and git(repo, "tag", "--list", TAG_4_20) == TAG_4_20:
        return repo
    if not TARBALL_4_20.is_file():
        raise FileNotFoundError(f"{TARBALL_4_20} missing: shared/kernels/ must sit beside the checkout")
    work = repo.with_name("linux-4.20.1.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(TARBALL_4_20), "-C", str(work), "--strip-components=1"],
                   check=True, timeout=1800)
    git(work, "init", "-q", "-b", "master")
    git(work, "add", "-f", "-A")
    git(work, "commit", "-q", "-m", "Linux 4.20.1", env={"GIT_AUTHOR_DATE": "2019-01-09T00:00:00Z",
                                                         "GIT_COMMITTER_DATE": "2019-01-09T00:00:00Z"})
    git(work, "tag", TAG_4_20)
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(repo)], check=True, timeout=1800)
    shutil.rmtree(work, ignore_errors=True)
    return repo


if __name__ == "__main__":
    print(ensure_kernel_repo())
