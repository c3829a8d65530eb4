"""Shared fixtures: every test gets its own HOME and git identity; downloads stay cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import defaults

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as at a terminal, however the suite was started: a shell starts a background job
    (`&`, nohup) with SIGINT ignored, Python then never raises KeyboardInterrupt, and every
    program the tests start would inherit the ignore. A Python handler here resets to the default
    in each exec'd child, so the Ctrl-C tests test the bot, not the shell that launched pytest."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, XDG_DATA_HOME and git config are the test's own; the download cache is kept."""
    cache = defaults.cache_dir()
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.org")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.org")
    monkeypatch.delenv("GIT_DIR", raising=False)
    return home


@pytest.fixture
def no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """No git identity anywhere, as on a fresh host: none of isolated_home's GIT_AUTHOR_* /
    GIT_COMMITTER_* (nor EMAIL) in the environment, and no git config (HOME is the test's)."""
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def shim_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a fake program first on PATH: shim_path("spatch", "#!/bin/sh\\nexit 3\\n")."""
    bindir = tmp_path / "shims"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    def make(name: str, script: str) -> Path:
        p = bindir / name
        p.write_text(script)
        p.chmod(0o755)
        return p

    return make


@pytest.fixture
def smtp():
    """A loopback SMTP server that keeps what it receives: (port, bot_setup.Inbox)."""
    from bot_setup import Inbox, smtp_server

    with smtp_server(Inbox()) as (port, inbox):
        yield port, inbox


# --- cocci-bot mirror: a real Debian kernel mirror shared by every test session -------------

# Computed at import time from the real environment: isolated_home changes HOME per test.
DEBIAN_MIRROR_DIR = defaults.cache_dir() / "test-mirror"
# asked newest first on purpose: the mirror must still chain them in version order
DEBIAN_MIRROR_RELEASES = ("6.1.176", "5.10.223", "5.10.46")


@pytest.fixture(scope="session")
def debian_mirror() -> Path:
    """A mirror repo (bare) tagged v5.10.46 (early 5.10, orig tarball), v5.10.223 (late 5.10,
    Debian-patched) and v6.1.176, made by the real `cocci-bot mirror`.

    It lives under the download cache so repeated runs and CI on this machine reuse it (a
    release already present is skipped); concurrent sessions wait on the mirror's lock. Use
    `git worktree add --detach DIR v5.10.223` for a checkout, and remove it when done.
    """
    from bot import cli

    repo = DEBIAN_MIRROR_DIR / "debian-linux.git"
    argv = ["mirror", "--data-dir", str(DEBIAN_MIRROR_DIR / "data"), "--repo", str(repo),
            *DEBIAN_MIRROR_RELEASES]
    rc = cli.main(argv)
    if rc != 0:
        pytest.fail(f"cocci-bot {' '.join(argv)} failed with exit {rc} (see its error above)")
    return repo


SMPL_INPUTS = ROOT / "semantic_patches" / "kvm-refcounted-pfn" / "tests"


@pytest.fixture
def fake_kernel_tree(tmp_path: Path) -> Path:
    """A small kernel-shaped git tree (tag v5.10.1) made of the SmPL test inputs:
    virt/kvm/kvm_main.c, arch/x86/kvm/mmu/mmu.c, include/linux/kvm_host.h."""
    import shutil
    import subprocess

    tree = tmp_path / "linux"
    for src, dst in (("02-refcounted-pfn/main.c", "virt/kvm/kvm_main.c"),
                     ("02-refcounted-pfn/mmu.c", "arch/x86/kvm/mmu/mmu.c"),
                     ("02-refcounted-pfn/kvm_host.h", "include/linux/kvm_host.h")):
        (tree / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SMPL_INPUTS / src, tree / dst)
    rules = tree / "Documentation/process/stable-kernel-rules.rst"   # the messages cite it
    rules.parent.mkdir(parents=True)
    rules.write_text("Everything you ever wanted to know about Linux -stable releases\n")
    subprocess.run(["git", "init", "-q", "-b", "master", str(tree)], check=True)
    for argv in (["add", "-A"], ["commit", "-qm", "release 1"], ["tag", "v5.10.1"]):
        subprocess.run(["git", "-C", str(tree), *argv], check=True)
    return tree


@pytest.fixture(scope="session")
def kernel_repo(debian_mirror: Path) -> Path:
    """The kernel repo the build/boot tests use: the Debian mirror (tag v5.10.223)."""
    return debian_mirror


@pytest.fixture(scope="session")
def linux_4_20_repo() -> Path:
    """Linux 4.20.1 (the RFC's base; kvm_is_reserved_pfn() still counts ZONE_DEVICE as reserved)
    as a bare repo tagged v4.20.1, made from shared/kernels/linux-4.20.1.tar.xz."""
    from kernel_trees import ensure_linux_4_20_repo

    return ensure_linux_4_20_repo()
