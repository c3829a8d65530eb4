"""`cocci-bot mirror --tarball` on the real Linux 4.20.1 tarball (shared/kernels/, found at run
time like tests/kernel_trees.py does; never committed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot import cli

pytestmark = pytest.mark.slow


def git(gitdir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(gitdir), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_linux_4_20_1_tarball_is_release_v4_20_1(linux_4_20_repo: Path, capsys):
    from kernel_trees import TARBALL_4_20

    gitdir = linux_4_20_repo
    assert git(gitdir, "tag", "--list", "v4.20.1") == "v4.20.1"
    body = git(gitdir, "log", "-1", "--format=%B", "v4.20.1")
    assert "Mirrored-from: tarball linux-4.20.1.tar.xz" in body
    # this snapshot's Makefile says EXTRAVERSION = 1: without --tag the mirror asks for one
    assert "its Makefile says 4.20.1 with EXTRAVERSION '1'" in body
    makefile = git(gitdir, "show", "v4.20.1:Makefile")
    assert "PATCHLEVEL = 20\nSUBLEVEL = 1\n" in makefile
    # every file of the tarball is in the tree (tar's listing minus its folders)
    listing = subprocess.run(["tar", "-tf", str(TARBALL_4_20)], check=True, capture_output=True,
                             text=True).stdout.splitlines()
    files = [n for n in listing if not n.endswith("/")]
    stored = git(gitdir, "ls-tree", "-r", "--name-only", "v4.20.1").splitlines()
    assert len(stored) == len(files) > 60000
    # the RFC's base: kvm_is_reserved_pfn() still counts ZONE_DEVICE pages as reserved
    kvm_main = git(gitdir, "show", "v4.20.1:virt/kvm/kvm_main.c")
    assert "bool kvm_is_reserved_pfn(kvm_pfn_t pfn)" in kvm_main
    assert "is_zone_device_page" not in kvm_main
    # again: present by its sha256, nothing unpacked, the same commit
    commit = git(gitdir, "rev-parse", "v4.20.1")
    capsys.readouterr()
    assert cli.main(["mirror", "--data-dir", str(gitdir.parent / "mirror-data"), "--repo",
                     str(gitdir), "--tarball", str(TARBALL_4_20), "--tag", "v4.20.1"]) == 0
    err = capsys.readouterr().err
    assert "present v4.20.1" in err and "unpack" not in err
    assert git(gitdir, "rev-parse", "v4.20.1") == commit
