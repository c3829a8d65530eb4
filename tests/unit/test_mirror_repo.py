"""The mirror's git side on tiny trees: import, version-ordered chain, re-parenting, refs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.errors import InfraError, UserError
from bot.mirror import repo
from bot.mirror.versions import Upstream


def git(gitdir: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(gitdir), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_tree(root: Path, version: str) -> Path:
    """A tiny 'kernel' whose .gitignore ignores its whole top level, like Debian's tarball."""
    root.mkdir(parents=True)
    (root / ".gitignore").write_text("/*\n*.o\n")
    (root / "Makefile").write_text(f"VERSION = {version}\n")
    (root / "virt" / "kvm").mkdir(parents=True)
    (root / "virt" / "kvm" / "kvm_main.c").write_text(f"/* {version} */\n")
    (root / "scripts").mkdir()
    tool = root / "scripts" / "checkpatch.pl"
    tool.write_text("#!/usr/bin/perl\n")
    tool.chmod(0o755)
    (root / "built-in.o").write_text("ignored by .gitignore, kept by the mirror\n")
    (root / "arch").mkdir()
    (root / "arch" / "link").symlink_to("../virt")
    os.utime(root / "Makefile", (1600000000 + len(version), 1600000000 + len(version)))
    return root


def import_tiny(gitdir: Path, tmp: Path, version: str) -> repo.Release:
    root = make_tree(tmp / f"src-{version}", version)
    tree = repo.write_tree(gitdir, root, tmp / f"index-{version}")
    up = Upstream.parse(version)
    msg = repo.message(up, "linux-source-5.10", f"{version}-1", f"linux-source_{version}.deb",
                       "0" * 64, "/usr/src/linux-source-5.10.tar.xz")
    rel = repo.Release(up, tree, msg, repo.makefile_date(root))
    placed, _moved = repo.add_release(gitdir, rel)
    return placed


def chain(gitdir: Path, ref: str) -> list[str]:
    return git(gitdir, "log", "--format=%H %s", ref).splitlines()


def test_import_keeps_ignored_files_modes_and_symlinks(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    root = make_tree(tmp_path / "src", "5.10.46")
    tree = repo.write_tree(gitdir, root, tmp_path / "index")
    listing = git(gitdir, "ls-tree", "-r", tree)
    assert "built-in.o" in listing and ".gitignore" in listing
    assert "100755 blob" in next(line for line in listing.splitlines() if "checkpatch" in line)
    assert "120000 blob" in next(line for line in listing.splitlines() if "arch/link" in line)
    assert repo.count_tree(gitdir, tree) == 6
    assert not (gitdir / "index").exists()  # the private index was used


def test_same_release_same_commit_whatever_the_order(tmp_path):
    versions = ["5.10.46", "5.10.218", "5.10.223", "6.1.176"]
    forward = repo.ensure(tmp_path / "fwd.git")
    for v in versions:
        import_tiny(forward, tmp_path / "f", v)
    shuffled = repo.ensure(tmp_path / "shuf.git")
    for v in ["5.10.223", "6.1.176", "5.10.46", "5.10.218"]:
        import_tiny(shuffled, tmp_path / "s", v)
    for v in versions:
        assert git(forward, "rev-parse", f"v{v}") == git(shuffled, "rev-parse", f"v{v}")
    subjects = [line.split(" ", 1)[1] for line in chain(shuffled, "v6.1.176")]
    assert subjects == [f"Linux {v} from Debian linux-source-5.10 {v}-1" for v in reversed(versions)]


def test_inserting_an_older_release_reparents_later_ones(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    import_tiny(gitdir, tmp_path, "5.10.223")
    import_tiny(gitdir, tmp_path, "6.1.176")
    before = {v: (git(gitdir, "rev-parse", f"v{v}"), git(gitdir, "rev-parse", f"v{v}^{{tree}}"))
              for v in ("5.10.223", "6.1.176")}
    rel = import_tiny(gitdir, tmp_path, "5.10.46")
    # the new one is the root, the later ones moved onto it with their trees unchanged
    assert git(gitdir, "rev-list", "--parents", "-n1", "v5.10.46") == rel.commit
    assert git(gitdir, "rev-parse", "v5.10.223^") == rel.commit
    assert git(gitdir, "rev-parse", "v6.1.176^") == git(gitdir, "rev-parse", "v5.10.223")
    for v, (commit, tree) in before.items():
        assert git(gitdir, "rev-parse", f"v{v}") != commit
        assert git(gitdir, "rev-parse", f"v{v}^{{tree}}") == tree
    assert len(chain(gitdir, "v6.1.176")) == 3
    # branches follow the newest release of each series; HEAD the newest series
    assert git(gitdir, "rev-parse", "debian/5.10") == git(gitdir, "rev-parse", "v5.10.223")
    assert git(gitdir, "rev-parse", "debian/6.1") == git(gitdir, "rev-parse", "v6.1.176")
    assert git(gitdir, "symbolic-ref", "HEAD") == "refs/heads/debian/6.1"


def test_relink_reports_only_the_moved_releases(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    import_tiny(gitdir, tmp_path, "5.10.46")
    import_tiny(gitdir, tmp_path, "5.10.223")
    old = repo.releases(gitdir)
    # appending the newest moves nothing
    new = repo.Release(Upstream.parse("6.1.1"), old[0].tree, old[0].message, old[0].date)
    chained, moved = repo.relink(gitdir, repo.place(old, new))
    assert moved == []
    assert [r.commit for r in chained[:2]] == [r.commit for r in old]
    # putting one in the middle moves exactly the later one
    mid = repo.Release(Upstream.parse("5.10.100"), old[0].tree, old[0].message, old[0].date)
    chained, moved = repo.relink(gitdir, repo.place(old, mid))
    assert [r.version for r in moved] == [Upstream.parse("5.10.223")]
    assert chained[2].parent == chained[1].commit


def test_commit_metadata_is_the_bots_and_the_releases(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    rel = import_tiny(gitdir, tmp_path, "5.10.46")
    out = git(gitdir, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%at|%ct|%B", "v5.10.46")
    who, committer, at, ct, body = out.split("|", 4)
    assert who == committer == "cocci-bot mirror <mirror@cocci-bot.invalid>"  # not the test's
    assert at == ct == str(1600000000 + len("5.10.46"))
    assert "Mirrored-from: linux-source-5.10 5.10.46-1" in body
    assert rel.source == "linux-source-5.10 5.10.46-1"


def test_releases_refuses_a_tag_the_mirror_did_not_make(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    import_tiny(gitdir, tmp_path, "5.10.46")
    tree = git(gitdir, "rev-parse", "v5.10.46^{tree}")
    foreign = subprocess.run(["git", "-C", str(gitdir), "commit-tree", tree, "-m", "Linux 5.11"],
                             check=True, capture_output=True, text=True).stdout.strip()
    git(gitdir, "tag", "v5.11", foreign)
    git(gitdir, "tag", "not-a-release", foreign)  # other tags are fine
    with pytest.raises(UserError, match="v5.11 .* not made by cocci-bot mirror"):
        repo.releases(gitdir)


def test_releases_refuses_an_annotated_release_tag(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    rel = import_tiny(gitdir, tmp_path, "5.10.46")
    git(gitdir, "tag", "-a", "-m", "mine", "v5.10.47", rel.commit)
    with pytest.raises(UserError, match="v5.10.47 .* not made by cocci-bot mirror"):
        repo.releases(gitdir)


def test_ensure_refuses_a_folder_that_is_not_a_repo(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "file").write_text("x")
    with pytest.raises(UserError, match="not a git repository"):
        repo.ensure(tmp_path / "stuff")


def test_ensure_accepts_a_non_bare_repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "w")], check=True)
    gitdir = repo.ensure(tmp_path / "w")
    assert gitdir == (tmp_path / "w" / ".git").resolve()
    assert not repo.is_bare(gitdir)


def test_lock_excludes_a_second_mirror(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    with (repo.locked(gitdir), pytest.raises(InfraError, match="another cocci-bot mirror"),
          repo.locked(gitdir, timeout=0.3)):
        pass
    with repo.locked(gitdir, timeout=0.3):  # released on the way out
        pass


def test_ref_updates_checks_old_values(tmp_path):
    gitdir = repo.ensure(tmp_path / "m.git")
    a = import_tiny(gitdir, tmp_path, "5.10.46")
    moved = repo.Release(a.version, a.tree, a.message, a.date, "1" * 40, None)
    text = repo.ref_updates(gitdir, [a], [moved])
    assert f"update refs/tags/v5.10.46 {'1' * 40} {a.commit}\n" in text
    assert f"update refs/heads/debian/5.10 {'1' * 40}\n" in text
