"""`cocci-bot mirror` through bot.cli.main: exit codes, messages, clean-up after failures.

apt is real where the outcome does not depend on the network (listing, unknown versions);
PATH shims stand in for apt only to inject failures.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot import cli
from bot.mirror import repo
from bot.mirror.versions import Upstream

MADISON = """\
linux-source-5.10 | 5.10.223-1 | http://deb.debian.org/debian bullseye/main amd64 Packages
     linux |  5.10.46-4 | http://deb.debian.org/debian bullseye/main Sources
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Private data dir and download cache, so failures never touch the real cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = tmp_path / "data"
    return data


def mirror(data: Path, *args: str) -> int:
    return cli.main(["mirror", "--data-dir", str(data), *args])


def leftovers(data: Path, tmp_path: Path) -> list[Path]:
    found = list((data / "tmp").glob("*")) if (data / "tmp").exists() else []
    cache = tmp_path / "cache" / "cocci-bot" / "debian"
    if cache.exists():
        found += list(cache.glob(".download-*"))
    return found


def fake_apt_cache(shim_path, tmp_path: Path, show: str = "", madison: str = MADISON) -> None:
    (tmp_path / "madison.txt").write_text(madison)
    (tmp_path / "show.txt").write_text(show)
    shim_path("apt-cache", f"""#!/bin/sh
case "$1" in
  madison) cat {tmp_path}/madison.txt ;;
  show) cat {tmp_path}/show.txt ;;
  *) exit 100 ;;
esac
""")


def tiny_deb(tmp_path: Path, tarball: bytes) -> Path:
    """A real .deb shaped like linux-source-5.10, carrying `tarball` as its source tarball."""
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        "Package: linux-source-5.10\nVersion: 5.10.223-1\nArchitecture: all\n"
        "Maintainer: Test <t@example.org>\nDescription: test\n")
    (pkg / "usr" / "src").mkdir(parents=True)
    (pkg / "usr" / "src" / "linux-source-5.10.tar.xz").write_bytes(tarball)
    deb = tmp_path / "linux-source-5.10_5.10.223-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkg), str(deb)],
                   check=True, capture_output=True)
    return deb


def show_for(deb: Path) -> str:
    data = deb.read_bytes()
    return (f"Package: linux-source-5.10\nVersion: 5.10.223-1\n"
            f"Filename: pool/main/l/linux/{deb.name}\nSize: {len(data)}\n"
            f"SHA256: {hashlib.sha256(data).hexdigest()}\n\n")


# --- usage errors (exit 2) -------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ([], "no VERSION given"),
    (["5.x"], "is not a kernel version"),
    (["--list", "5.10.46"], "--list takes no VERSION"),
])
def test_usage_errors(env, capsys, args, message):
    assert mirror(env, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unknown_version_lists_what_the_real_apt_sources_offer(env, capsys):
    assert mirror(env, "5.10.46", "5.10.99") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown version 5.10.99: the configured apt sources offer")
    assert "5.10.46, " in err and "5.10.223, " in err and "6.1.176" in err
    assert len(err.splitlines()) == 1
    # nothing was imported before the request was refused
    gitdir = env / "mirrors" / "debian-linux.git"
    assert repo.releases(gitdir) == []
    assert leftovers(env, env.parent) == []


def test_repo_that_is_not_git_is_a_usage_error(env, tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    assert mirror(env, "--repo", str(tmp_path / "notes"), "5.10.46") == 2
    assert "not a git repository" in capsys.readouterr().err
    assert (tmp_path / "notes" / "todo.txt").read_text() == "x"


def test_list_shows_offers_and_what_is_present(env, capsys):
    assert mirror(env, "--list") == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("5.10.46 "))
    assert row.split()[:4] == ["5.10.46", "linux", "5.10.46-4", "orig"]
    assert any(line.split()[:2] == ["5.10.223", "linux-source-5.10"] for line in lines)
    assert not (env / "mirrors").exists()  # listing creates nothing


# --- infrastructure errors (exit 3) -----------------------------------------------------------

def test_apt_missing_names_the_fix(env, tmp_path, monkeypatch, capsys):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(bindir))
    assert mirror(env, "5.10.46") == 3
    err = capsys.readouterr().err
    assert "apt-cache not found" in err and "Debian" in err


def test_present_releases_need_no_apt(env, tmp_path, monkeypatch, capsys):
    gitdir = repo.ensure(env / "mirrors" / "debian-linux.git")
    src = tmp_path / "src"
    src.mkdir()
    (src / "Makefile").write_text("VERSION = 5\n")
    tree = repo.write_tree(gitdir, src, tmp_path / "index")
    up = Upstream.parse("5.10.46")
    repo.add_release(gitdir, repo.Release(
        up, tree, repo.message(up, "linux", "5.10.46-4", "f", "0" * 64, None), "0 +0000"))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(bindir))
    assert mirror(env, "v5.10.46") == 0
    err = capsys.readouterr().err
    assert "mirror: present v5.10.46" in err
    assert "mirror: PASS 0 imported, 1 present" in err


def test_madison_failing(env, shim_path, capsys):
    shim_path("apt-cache", "#!/bin/sh\necho 'E: Could not open lock file' >&2\nexit 100\n")
    assert mirror(env, "5.10.46") == 3
    assert "apt-cache madison failed (exit 100): E: Could not open lock file" in \
        capsys.readouterr().err


def test_apt_get_download_failing_leaves_nothing_behind(env, tmp_path, shim_path, capsys):
    deb = tiny_deb(tmp_path, b"not used")
    fake_apt_cache(shim_path, tmp_path, show_for(deb))
    shim_path("apt-get", "#!/bin/sh\necho 'partial' > linux-source-5.10_5.10.223-1_all.deb\n"
              "echo 'E: Failed to fetch http://deb.debian.org/... 404  Not Found' >&2\n"
              "exit 100\n")
    assert mirror(env, "5.10.223") == 3
    err = capsys.readouterr().err
    assert "apt-get download linux-source-5.10=5.10.223-1" in err
    assert "404" in err
    assert leftovers(env, tmp_path) == []
    assert not (tmp_path / "cache" / "cocci-bot" / "debian" / deb.name).exists()


def test_download_not_matching_apt_checksum_is_refused(env, tmp_path, shim_path, capsys):
    deb = tiny_deb(tmp_path, b"not used")
    fake_apt_cache(shim_path, tmp_path, show_for(deb))
    shim_path("apt-get", f"#!/bin/sh\nhead -c 100 {deb} > {deb.name}\n")
    assert mirror(env, "5.10.223") == 3
    assert "does not match the SHA-256" in capsys.readouterr().err
    assert leftovers(env, tmp_path) == []


def test_corrupt_tarball_fails_unpack_and_cleans_up(env, tmp_path, shim_path, capsys):
    deb = tiny_deb(tmp_path, b"\xfd7zXZ\x00 this is not xz")
    fake_apt_cache(shim_path, tmp_path, show_for(deb))
    shim_path("apt-get", f"#!/bin/sh\ncp {deb} .\n")
    assert mirror(env, "5.10.223") == 3
    err = capsys.readouterr().err
    assert "mirror: download linux-source-5.10 5.10.223-1" in err
    assert "error: tar failed" in err
    assert leftovers(env, tmp_path) == []
    # the (good) download stays cached; the mirror has no release
    assert (tmp_path / "cache" / "cocci-bot" / "debian" / deb.name).is_file()
    assert repo.releases(env / "mirrors" / "debian-linux.git") == []


def test_interrupt_during_unpack_kills_it_and_cleans_up(env, tmp_path, shim_path, capsys):
    deb = tiny_deb(tmp_path, b"whatever")
    fake_apt_cache(shim_path, tmp_path, show_for(deb))
    shim_path("apt-get", f"#!/bin/sh\ncp {deb} .\n")
    marker = tmp_path / "tar-pid"
    # the pause lets proc.run reach communicate(): a Ctrl-C inside Popen() itself is
    # proc.py's business, not the mirror's
    shim_path("dpkg-deb", f"#!/bin/sh\necho $$ > {marker}\nsleep 0.5\nkill -INT $PPID\nsleep 60\n")
    assert mirror(env, "5.10.223") == 130
    assert "interrupted" in capsys.readouterr().err
    assert leftovers(env, tmp_path) == []
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_too_little_disk_space_is_refused_before_unpacking(env, tmp_path, shim_path,
                                                           monkeypatch, capsys):
    from bot import defaults

    deb = tiny_deb(tmp_path, b"whatever")
    fake_apt_cache(shim_path, tmp_path, show_for(deb))
    shim_path("apt-get", f"#!/bin/sh\ncp {deb} .\n")
    monkeypatch.setattr(defaults, "MIRROR_MIN_FREE_BYTES", 10**18)
    assert mirror(env, "5.10.223") == 3
    err = capsys.readouterr().err
    assert "GB free under" in err and "--data-dir on a larger disk" in err
    assert "mirror: unpack" not in err
    assert leftovers(env, tmp_path) == []


def test_unpack_folders_of_killed_runs_are_swept(tmp_path):
    from bot.mirror import stage

    dead = tmp_path / "mirror-999999999-abcd"   # above pid_max: no such process
    live = tmp_path / f"mirror-{os.getppid()}-efgh"
    other = tmp_path / "keep-me"
    for d in (dead, live, other):
        (d / "src").mkdir(parents=True)
    stage.sweep(tmp_path)
    assert not dead.exists()
    assert live.exists() and other.exists()
