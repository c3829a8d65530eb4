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
    """A bare mirror holding Linux 4.20.1 tagged v4.20.1, made by `cocci-bot mirror --tarball`
    from shared/kernels/ (about a minute, once; later calls find the tarball present by its
    sha256 without unpacking). Cached in cache_dir()/test-trees; the mirror's lock makes
    concurrent sessions wait for one import."""
    from bot import cli

    repo = defaults.cache_dir() / "test-trees" / "linux-4.20.1-mirror.git"
    if not TARBALL_4_20.is_file():
        raise FileNotFoundError(f"{TARBALL_4_20} missing: shared/kernels/ must sit beside the checkout")
    # --tag: this snapshot's Makefile carries EXTRAVERSION = 1 (make kernelversion: 4.20.11)
    argv = ["mirror", "--data-dir", str(repo.parent / "mirror-data"), "--repo", str(repo),
            "--tarball", str(TARBALL_4_20), "--tag", TAG_4_20]
    if cli.main(argv) != 0:
        raise RuntimeError(f"cocci-bot {' '.join(argv)} failed (see its error above)")
    return repo


if __name__ == "__main__":
    print(ensure_kernel_repo())
