"""`cocci-bot mirror` on Debian's real packages (cached downloads): slow, runs in CI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot import cli
from bot.mirror import apt

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def tree_files(repo: Path, rev: str) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", "-z", rev).split("\0")) - {""}


def tarball_files(tar_argv: list[str], stdin: bytes | None = None) -> set[str]:
    """Files and symlinks a tarball holds, by GNU tar's own listing (top folder stripped)."""
    out = subprocess.run([*tar_argv, "--list", "--verbose"], input=stdin, check=True,
                         capture_output=True).stdout.decode()
    names = set()
    for line in out.splitlines():
        if line.startswith(("-", "l", "h")):
            path = line.split(None, 5)[5].split(" -> ")[0].split(" link to ")[0]
            names.add(path.split("/", 1)[1])
    return names


def commit_without_parent(repo: Path, rev: str) -> list[str]:
    """The commit object's lines (tree, author, committer with dates, message) but its parent."""
    return [line for line in git(repo, "cat-file", "commit", rev).splitlines()
            if not line.startswith("parent ")]


def subl(repo: Path, rev: str) -> str:
    return next(line for line in git(repo, "show", f"{rev}:Makefile").splitlines()
                if line.startswith("SUBLEVEL"))


def test_shared_mirror_is_a_version_ordered_chain(debian_mirror):
    tags = {"v5.10.46": "SUBLEVEL = 46", "v5.10.223": "SUBLEVEL = 223",
            "v6.1.176": "SUBLEVEL = 176"}
    for tag, sublevel in tags.items():
        assert subl(debian_mirror, tag) == sublevel
        assert "virt/kvm/kvm_main.c" in git(debian_mirror, "ls-tree", "-r", "--name-only", tag,
                                            "virt/kvm")
    # asked newest first, chained oldest first
    assert git(debian_mirror, "rev-parse", "v5.10.223^") == git(debian_mirror, "rev-parse",
                                                                "v5.10.46")
    assert git(debian_mirror, "rev-parse", "v6.1.176^") == git(debian_mirror, "rev-parse",
                                                               "v5.10.223")
    assert git(debian_mirror, "rev-parse", "debian/6.1") == git(debian_mirror, "rev-parse",
                                                                "v6.1.176")
    log = git(debian_mirror, "log", "--format=%an <%ae>|%s", "v6.1.176").splitlines()
    assert log[:3] == ["cocci-bot mirror <mirror@cocci-bot.invalid>|Linux 6.1.176 from Debian "
                       "linux-source-6.1 6.1.176-1",
                       "cocci-bot mirror <mirror@cocci-bot.invalid>|Linux 5.10.223 from Debian "
                       "linux-source-5.10 5.10.223-1",
                       "cocci-bot mirror <mirror@cocci-bot.invalid>|Linux 5.10.46 from Debian "
                       "linux 5.10.46-4"]   # older releases may sit below (other tests, benches)


def test_worktree_of_the_bare_mirror(debian_mirror, tmp_path):
    wt = tmp_path / "wt"
    git(debian_mirror, "worktree", "add", "--detach", "--quiet", str(wt), "v5.10.223")
    try:
        assert (wt / "virt" / "kvm" / "kvm_main.c").is_file()
        assert (wt / ".clang-format").is_file()  # ignored by the tarball's ".*" rule
        assert git(wt, "status", "--porcelain") == ""
    finally:
        git(debian_mirror, "worktree", "remove", "--force", str(wt))


def test_fresh_import_is_complete_reproducible_and_skipped_next_time(debian_mirror, tmp_path,
                                                                     capsys):
    repo = tmp_path / "fresh.git"
    argv = ["mirror", "--data-dir", str(tmp_path / "data"), "--repo", str(repo), "5.10.46-4"]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "mirror: download linux 5.10.46-4 (cached)" in err
    assert "mirror: unpack linux 5.10.46-4: " in err
    assert "mirror: import linux 5.10.46-4 -> v5.10.46 " in err
    assert "mirror: PASS 1 imported, 0 present in " in err
    assert git(repo, "rev-list", "--count", "--all") == "1"
    assert git(repo, "tag") == "v5.10.46"
    # the same release gives the same commit object, in any repository, up to its parent (the
    # shared mirror may hold older releases, imported by other tests or benchmarks, below it)
    assert commit_without_parent(repo, "v5.10.46") == commit_without_parent(debian_mirror,
                                                                            "v5.10.46")
    orig = apt.cache_root() / "linux_5.10.46.orig.tar.xz"
    assert tree_files(repo, "v5.10.46") == tarball_files(["tar", "--file", str(orig)])
    assert list((tmp_path / "data" / "tmp").iterdir()) == []
    objects = git(repo, "count-objects", "-v")
    assert "count: 0" in objects  # packed, no loose objects left for an auto-gc

    refs = git(repo, "show-ref")
    assert cli.main([*argv[:-1], "5.10.46"]) == 0
    err = capsys.readouterr().err
    assert "mirror: present v5.10.46" in err and "unpack" not in err
    assert "mirror: PASS 0 imported, 1 present" in err
    assert git(repo, "show-ref") == refs


def test_older_deb_release_goes_into_place(debian_mirror, tmp_path, capsys):
    """5.10.218 into a copy of the shared mirror: a Debian-patched tree lands between 46 and 223."""
    repo = tmp_path / "copy.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", "--shared", str(debian_mirror),
                    str(repo)], check=True)
    before = {t: (git(repo, "rev-parse", t), git(repo, "rev-parse", f"{t}^{{tree}}"))
              for t in ("v5.10.46", "v5.10.223", "v6.1.176")}
    argv = ["mirror", "--data-dir", str(tmp_path / "data"), "--repo", str(repo),
            "5.10.223", "5.10.218"]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "mirror: present v5.10.223" in err
    assert "mirror: re-parented v5.10.223, v6.1.176 onto v5.10.218" in err
    assert "mirror: PASS 1 imported, 1 present" in err
    assert subl(repo, "v5.10.218") == "SUBLEVEL = 218"
    assert git(repo, "rev-parse", "v5.10.218^") == before["v5.10.46"][0]
    assert git(repo, "rev-parse", "v5.10.223^") == git(repo, "rev-parse", "v5.10.218")
    for tag in ("v5.10.223", "v6.1.176"):
        assert git(repo, "rev-parse", f"{tag}^{{tree}}") == before[tag][1]
        assert git(repo, "rev-parse", tag) != before[tag][0]
    assert git(repo, "rev-parse", "v5.10.46") == before["v5.10.46"][0]
    assert git(repo, "rev-list", "--count", "v6.1.176") == "4"
    # every file of Debian's tarball is in the tree, whatever its .gitignore says
    deb = apt.cache_root() / "linux-source-5.10_5.10.218-1_all.deb"
    inner = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                           capture_output=True).stdout
    tarball = subprocess.run(["tar", "--extract", "--to-stdout",
                              "./usr/src/linux-source-5.10.tar.xz"], input=inner, check=True,
                             capture_output=True).stdout
    files = tarball_files(["tar", "--xz", "--file", "-"], stdin=tarball)
    assert tree_files(repo, "v5.10.218") == files
    assert {".clang-format", ".mailmap", "virt/kvm/kvm_main.c"} <= files
    assert list((tmp_path / "data" / "tmp").iterdir()) == []
