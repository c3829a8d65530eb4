"""`cocci-bot mirror --tarball`: small real tarballs (real tar, real git), every bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot import cli
from bot.mirror import repo


def kernel_tarball(tmp_path: Path, version: str, extra: str = "", name: str | None = None,
                   top: str | None = None) -> Path:
    """linux-X.Y.Z.tar.xz holding a kernel-shaped top folder (Makefile, a .gitignore, a file)."""
    parts = (version.split(".") + ["0"])[:3]
    top = top or f"linux-{version}"
    src = tmp_path / f"src-{version}{extra}" / top
    (src / "virt" / "kvm").mkdir(parents=True)
    (src / "Makefile").write_text(
        f"# SPDX-License-Identifier: GPL-2.0\nVERSION = {parts[0]}\nPATCHLEVEL = {parts[1]}\n"
        f"SUBLEVEL = {parts[2]}\nEXTRAVERSION ={extra}\nNAME = Test\n")
    (src / ".gitignore").write_text("*\n")   # a tree's own ignore rules must not hide files
    (src / "virt" / "kvm" / "kvm_main.c").write_text(f"/* {version}{extra} */\n")
    out = tmp_path / (name or f"linux-{version}{extra}.tar.xz")
    subprocess.run(["tar", "-cJf", str(out), "-C", str(src.parent), top], check=True)
    return out


def mirror(tmp_path: Path, *args: str) -> int:
    return cli.main(["mirror", "--data-dir", str(tmp_path / "data"),
                     "--repo", str(tmp_path / "m.git"), *args])


def tags(tmp_path: Path) -> dict[str, str]:
    return {r.version.tag: r for r in repo.releases(tmp_path / "m.git")}  # type: ignore[misc]


def git(gitdir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(gitdir), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def one_error(err: str) -> bool:
    """Exactly one error line (progress lines may precede it), no traceback."""
    return sum(line.startswith("error: ") for line in err.splitlines()) == 1 and \
        "Traceback" not in err


def nothing_left(tmp_path: Path) -> bool:
    tmp = tmp_path / "data" / "tmp"
    return not tmp.exists() or not any(tmp.iterdir())


def test_tarball_becomes_a_tagged_release_in_version_order(tmp_path: Path, capsys):
    newer = kernel_tarball(tmp_path, "5.10.1")
    older = kernel_tarball(tmp_path, "4.20.1")
    assert mirror(tmp_path, "--tarball", str(newer)) == 0
    before = git(tmp_path / "m.git", "rev-parse", "v5.10.1")
    assert mirror(tmp_path, "--tarball", str(older)) == 0
    err = capsys.readouterr().err
    assert "unpack linux-4.20.1.tar.xz: 3 files, Linux 4.20.1" in err
    assert "re-parented v5.10.1 onto v4.20.1" in err and "PASS v4.20.1 imported" in err
    gitdir = tmp_path / "m.git"
    # one chain in version order: 4.20.1 -> 5.10.1; the later tree is unchanged
    assert git(gitdir, "rev-parse", "v5.10.1^") == git(gitdir, "rev-parse", "v4.20.1")
    assert git(gitdir, "rev-parse", "v5.10.1^{tree}") == git(gitdir, "rev-parse", f"{before}^{{tree}}")
    assert git(gitdir, "show", "v4.20.1:.gitignore") == "*"
    body = git(gitdir, "log", "-1", "--format=%B", "v4.20.1")
    assert "Mirrored-from: tarball linux-4.20.1.tar.xz" in body
    assert "Mirrored-file: linux-4.20.1.tar.xz sha256:" in body
    assert nothing_left(tmp_path)


def test_same_tarball_again_is_present_without_unpacking(tmp_path: Path, capsys):
    tarball = kernel_tarball(tmp_path, "4.20.1")
    assert mirror(tmp_path, "--tarball", str(tarball)) == 0
    commit = git(tmp_path / "m.git", "rev-parse", "v4.20.1")
    capsys.readouterr()
    assert mirror(tmp_path, "--tarball", str(tarball)) == 0
    err = capsys.readouterr().err
    assert "present v4.20.1" in err and "unpack" not in err
    assert git(tmp_path / "m.git", "rev-parse", "v4.20.1") == commit


def test_same_inputs_same_commit(tmp_path: Path):
    tarball = kernel_tarball(tmp_path, "4.20.1")
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        assert cli.main(["mirror", "--data-dir", str(d / "data"), "--repo", str(d / "m.git"),
                         "--tarball", str(tarball)]) == 0
    assert git(a / "m.git", "rev-parse", "v4.20.1") == git(b / "m.git", "rev-parse", "v4.20.1")


def test_tag_names_a_release_with_extraversion(tmp_path: Path, capsys):
    vendor = kernel_tarball(tmp_path, "5.10.0", extra="-vendor7")
    assert mirror(tmp_path, "--tarball", str(vendor)) == 2
    err = capsys.readouterr().err
    assert "Makefile says 5.10 with EXTRAVERSION '-vendor7' (make kernelversion: " \
        "5.10-vendor7), not a plain release: pass --tag vX.Y.Z" in err and one_error(err)
    assert nothing_left(tmp_path)
    assert mirror(tmp_path, "--tarball", str(vendor), "--tag", "v5.10.0") == 0
    body = git(tmp_path / "m.git", "log", "-1", "--format=%B", "v5.10.0")
    assert "its Makefile says 5.10 with EXTRAVERSION '-vendor7'" in body


def _corrupt(tmp_path: Path) -> Path:
    good = kernel_tarball(tmp_path, "4.20.1").read_bytes()
    bad = tmp_path / "corrupt.tar.xz"
    bad.write_bytes(good[: len(good) // 2])
    return bad


def _not_kernel(tmp_path: Path) -> Path:
    src = tmp_path / "notkernel" / "hello-1.0"
    src.mkdir(parents=True)
    (src / "Makefile").write_text("all:\n\techo hello\n")
    out = tmp_path / "hello-1.0.tar.gz"
    subprocess.run(["tar", "-czf", str(out), "-C", str(src.parent), "hello-1.0"], check=True)
    return out


def _two_tops(tmp_path: Path) -> Path:
    src = tmp_path / "two"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    (src / "a" / "x").write_text("x")
    out = tmp_path / "two.tar"
    subprocess.run(["tar", "-cf", str(out), "-C", str(src), "a", "b"], check=True)
    return out


@pytest.mark.parametrize(("make", "message"), [
    (_corrupt, "is not a readable tarball (tar: "),
    (_not_kernel, "not a kernel source tarball: its top folder has no Makefile"),
    (_two_tops, "does not unpack into one folder"),
    (lambda p: p / "missing.tar.xz", "is not a file"),
])
def test_bad_tarball_is_one_line_exit_2_nothing_left(tmp_path: Path, capsys, make, message):
    tarball = make(tmp_path)
    assert mirror(tmp_path, "--tarball", str(tarball)) == 2
    err = capsys.readouterr().err
    assert message in err and one_error(err) and "Traceback" not in err
    assert nothing_left(tmp_path)
    assert not (tmp_path / "m.git").exists()    # the mirror this run would have created


def test_a_version_already_in_the_mirror_is_refused(tmp_path: Path, capsys):
    first = kernel_tarball(tmp_path, "4.20.1")
    other = kernel_tarball(tmp_path, "4.20.1", name="vendor-4.20.1.tar.xz", top="vendor")
    assert mirror(tmp_path, "--tarball", str(first)) == 0
    commit = git(tmp_path / "m.git", "rev-parse", "v4.20.1")
    capsys.readouterr()
    # found after unpacking (version from the Makefile), and up front with --tag
    for extra in ([], ["--tag", "v4.20.1"]):
        assert mirror(tmp_path, "--tarball", str(other), *extra) == 2
        err = capsys.readouterr().err
        assert ("v4.20.1 is already in the mirror (from tarball linux-4.20.1.tar.xz), not from "
                "vendor-4.20.1.tar.xz") in err and one_error(err)
        assert nothing_left(tmp_path)
    assert git(tmp_path / "m.git", "rev-parse", "v4.20.1") == commit


@pytest.mark.parametrize(("args", "message"), [
    (["--tag", "v1.2.3"], "--tag goes with --tarball"),
    (["--tarball", "x.tar", "5.10.1"], "--tarball imports one tarball"),
    (["--tarball", "x.tar", "--tag", "latest"], "is not a release tag"),
])
def test_flag_misuse(tmp_path: Path, capsys, args, message):
    if "x.tar" in args:
        kernel_tarball(tmp_path, "4.20.1", name="x.tar")
        args = [str(tmp_path / a) if a == "x.tar" else a for a in args]
    assert mirror(tmp_path, *args) == 2
    assert message in capsys.readouterr().err
