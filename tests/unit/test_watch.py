"""Watching: git trees behind a real file:// remote (fetch, first poll, new/moved tags, branches,
since), and Debian trees with a releases glob over what apt offers."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from bot import proc
from bot.errors import InfraError, UserError
from bot.pipeline import watch
from bot.pipeline.config import Tree


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo: Path, text: str, tag: str | None = None, annotated: bool = False) -> str:
    (repo / "README").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", text)
    if tag:
        git(repo, "tag", *(["-a", "-m", tag] if annotated else []), tag)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    repo = tmp_path / "upstream"
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True)
    commit(repo, "1", "v5.10.1")
    commit(repo, "2", "v5.10.2", annotated=True)
    commit(repo, "10", "v5.10.10")
    commit(repo, "other", "v6.1.1")
    return repo


@pytest.fixture(autouse=True)
def bot_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """The bot's log reaches caplog even after a cli.main() set up its own handler."""
    monkeypatch.setattr(logging.getLogger("bot"), "propagate", True)
    caplog.set_level(logging.INFO)
    return caplog


def names(rels: list[watch.TreeRelease]) -> list[str]:
    return [r.tag for r in rels]


def test_first_poll_runs_the_newest_tag_later_polls_what_is_new(tmp_path, upstream, caplog):
    data = tmp_path / "data"
    tree = Tree(name="stable", source="git", url=f"file://{upstream}", tags="v5.10.*")
    rels = watch.releases(tree, data)
    # version order, not string order: v5.10.10 is newer than v5.10.2
    assert names(rels) == ["v5.10.10"]
    assert rels[0].base == git(upstream, "rev-parse", "v5.10.10")
    assert rels[0].repo == data / "remotes" / "stable.git"
    assert "first poll: 3 tags match 'v5.10.*'; running only the newest, v5.10.10" in caplog.text
    state = json.loads((data / "watch" / "stable.json").read_text())
    assert list(state["tags"]) == ["v5.10.1", "v5.10.2", "v5.10.10"]
    # the annotated tag is recorded by its commit
    assert state["tags"]["v5.10.2"] == git(upstream, "rev-parse", "v5.10.2^{commit}")
    # nothing new: the same release again (the store knows it is done)
    assert names(watch.releases(tree, data)) == ["v5.10.10"]
    # a new tag upstream is fetched and runs
    new = commit(upstream, "11", "v5.10.11")
    rels = watch.releases(tree, data)
    assert names(rels) == ["v5.10.10", "v5.10.11"] and rels[1].base == new
    # a tag that moved is said and runs on its new commit
    caplog.clear()
    moved = commit(upstream, "11 again")
    git(upstream, "tag", "-f", "v5.10.11")
    rels = watch.releases(tree, data)
    assert f"tag v5.10.11 moved from {new[:12]} to {moved[:12]}" in caplog.text
    assert [(r.tag, r.base) for r in rels][-1] == ("v5.10.11", moved)


def test_since_runs_from_that_tag_and_branches_follow_their_heads(tmp_path, upstream):
    data = tmp_path / "data"
    tree = Tree(name="stable", source="git", url=f"file://{upstream}", tags="v5.10.*",
                since="v5.10.2", branches=("master",))
    head = git(upstream, "rev-parse", "master")
    assert names(watch.releases(tree, data)) == ["v5.10.2", "v5.10.10", f"master@{head[:12]}"]
    moved = commit(upstream, "on master")
    rels = watch.releases(tree, data)
    assert rels[-1].tag == f"master@{moved[:12]}" and rels[-1].base == moved
    assert len(rels) == 4


def test_since_must_name_a_matching_tag(tmp_path, upstream):
    tree = Tree(name="stable", source="git", url=f"file://{upstream}", tags="v5.10.*",
                since="v5.10.200")
    with pytest.raises(UserError, match="since = 'v5.10.200' is not a tag matching"):
        watch.releases(tree, tmp_path / "data")


def test_one_fetch_and_one_listing_per_poll_however_many_tags(tmp_path, upstream, monkeypatch):
    for i in range(11, 60):
        git(upstream, "tag", f"v5.10.{i}")
    tree = Tree(name="stable", source="git", url=f"file://{upstream}", tags="v5.10.*")
    data = tmp_path / "data"
    watch.releases(tree, data)
    calls: list[list[str]] = []
    real = proc.run

    def spy(argv, **kw):
        calls.append([str(a) for a in argv])
        return real(argv, **kw)

    monkeypatch.setattr(proc, "run", spy)
    assert names(watch.releases(tree, data)) == ["v5.10.59"]
    assert [c[3] for c in calls] == ["fetch", "for-each-ref"]


def test_an_unreachable_remote_is_an_infra_error_naming_it(tmp_path):
    tree = Tree(name="gone", source="git", url=f"file://{tmp_path}/nowhere.git")
    with pytest.raises(InfraError, match="git fetch file://.*nowhere.git failed .*asked again"):
        watch.releases(tree, tmp_path / "data")


def test_a_local_path_tree_is_listed_without_fetching(tmp_path, upstream):
    tree = Tree(name="local", source="git", path=upstream, tags="v*")
    assert names(watch.releases(tree, tmp_path / "data")) == ["v6.1.1"]
    assert not (tmp_path / "data" / "remotes").exists()


# --- debian ---------------------------------------------------------------------------------

@pytest.fixture
def data_with_mirror(tmp_path: Path, debian_mirror: Path) -> Path:
    """A data dir whose Debian mirror is a (hard-linked) clone of the shared test mirror, and
    whose apt lists were updated a moment ago (the tests do not run apt-get update)."""
    data = tmp_path / "data"
    (data / "mirrors").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(debian_mirror),
                    str(data / "mirrors" / "debian-linux.git")], check=True)
    (data / "watch").mkdir()
    (data / "watch" / "apt-update.stamp").touch()
    return data


def test_debian_glob_takes_what_apt_offers(data_with_mirror, debian_mirror):
    from bot.mirror import apt

    offered = sorted({str(o.upstream) for o in apt.query_offers()})
    assert "5.10.46" in offered   # the orig tarball bullseye carries
    tree = Tree(name="debian-linux", releases="5.10.4?")
    assert watch.apt_versions(tree, data_with_mirror) == [v for v in offered
                                                          if v.startswith("5.10.4")
                                                          and len(v) == 7]
    rels = watch.releases(Tree(name="debian-linux", releases="5.10.46"), data_with_mirror)
    assert [(r.tag, r.base) for r in rels] == [("v5.10.46", git(debian_mirror, "rev-parse",
                                                                   "v5.10.46^{commit}"))]


def test_a_release_apt_cannot_give_is_skipped_with_its_reason(data_with_mirror, caplog):
    tree = Tree(name="debian-linux", releases=("5.10.46", "5.10.999"))
    rels = watch.releases(tree, data_with_mirror)
    assert [r.tag for r in rels] == ["v5.10.46"]
    err = caplog.text
    assert "release 5.10.999 skipped: unknown version 5.10.999: the configured apt sources " \
        "offer 5.10.13" in err and "(asked again next poll)" in err
    with pytest.raises(UserError, match="5.10.999"):
        watch.releases(Tree(name="debian-linux", releases=("5.10.999",)), data_with_mirror)
