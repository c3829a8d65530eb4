"""Shared fixtures: every test gets its own HOME and git identity; downloads stay cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import defaults

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture(scope="session")
def kernel_repo() -> Path:
    """A kernel git repo with tag v5.10.223 (cached across runs; see tests/kernel_trees.py).

    To be pointed at the mirror stage's `debian_mirror` fixture at merge.
    """
    from kernel_trees import ensure_kernel_repo

    return ensure_kernel_repo()
