from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import UserError
from bot.pipeline import config
from bot.pipeline.store import Store


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bot.toml"
    p.write_text(text)
    return p


def test_embedded_defaults_watch_one_debian_5_10_release():
    cfg = config.load(None)
    assert [t.name for t in cfg.trees] == ["debian-linux"]
    assert cfg.trees[0].releases[0].startswith("5.10.")
    assert cfg.build and cfg.boot and cfg.queue_url == ""


@pytest.mark.parametrize(("text", "message"), [
    ("[[tree]]\nname = 'a/b'\n", "name must be a plain word"),
    ("[[tree]]\nname = 'x'\nsource = 'svn'\n", "source 'svn' is not one of debian, git"),
    ("[[tree]]\nname = 'x'\nsource = 'git'\n", "a git tree needs path"),
    ("[trees]\n", "unknown section 'trees'"),
    ("[checks]\nbuild = false\n", "no [[tree]]"),
    ("[[tree]]\nname='x'\n[[tree]]\nname='x'\n", "two trees are named alike"),
    ("[[tree]\n", "fix the TOML"),
])
def test_bad_config_names_the_fix(tmp_path: Path, text: str, message: str):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("(", r"\(")):
        config.load(write(tmp_path, text))


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(UserError, match="does not exist"):
        config.load(tmp_path / "nope.toml")


def test_store_dedupes_jobs(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite3")
    a = store.job("k1", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "runs")
    b = store.job("k1", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "runs")
    c = store.job("k2", tree="t", tag="v2", base="c" * 40, campaign="c", runs=tmp_path / "runs")
    assert a.id == b.id != c.id and a.run_dir == tmp_path / "runs" / str(a.id)
    store.update(a.id, state="done", series_url="http://q/series/1/")
    again = store.job("k1", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "runs")
    assert again.state == "done" and again.series_url == "http://q/series/1/"
    assert [j.id for j in store.jobs()] == [a.id, c.id]
