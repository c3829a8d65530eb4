"""`cocci-bot run` end to end on a small git tree: apply -> (build/boot off) -> post to the
embedded review queue (real gunicorn, real SQLite), dedupe on rerun, resume after a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from bot import cli

INPUTS = Path(__file__).resolve().parents[2] / "semantic_patches" / "kvm-refcounted-pfn" / "tests"


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def small_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "linux"
    for src, dst in (("01-refcounted-pfn/main.c", "virt/kvm/kvm_main.c"),
                     ("01-refcounted-pfn/mmu.c", "arch/x86/kvm/mmu/mmu.c"),
                     ("01-refcounted-pfn/kvm_host.h", "include/linux/kvm_host.h")):
        (tree / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(INPUTS / src, tree / dst)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "release 1")
    git(tree, "tag", "v5.10.1")
    return tree


def bot_toml(tmp_path: Path, tree: Path, queue: str = "") -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f"""
[[tree]]
name = "small-linux"
source = "git"
path = "{tree}"
tags = "v5.10.*"

[checks]
build = false
boot = false

[queue]
url = "{queue}"
token_env = "TEST_QUEUE_TOKEN"
""")
    return path


def run(tmp_path: Path, cfg: Path, data: Path) -> int:
    return cli.main(["run", "--config", str(cfg), "--data-dir", str(data)])


def series_count(data: Path) -> int:
    """Series in the embedded queue's database, read through its own API on a fresh server."""
    from bot.pipeline.config import Config
    from bot.pipeline.queue import Queue

    with Queue(Config(), data) as q:
        url, _token = q()
        return requests.get(f"{url}/api/1.2/series/", timeout=10).json().__len__()


def test_run_posts_once_and_dedupes(tmp_path: Path, small_tree: Path, capsys):
    data = tmp_path / "data"
    cfg = bot_toml(tmp_path, small_tree)
    assert run(tmp_path, cfg, data) == 0
    err = capsys.readouterr().err
    assert "run: small-linux v5.10.1 kvm-refcounted-pfn: apply PASS, build skipped, boot skipped, post PASS -> http://127.0.0.1:" in err
    run_json = json.loads((data / "runs" / "1" / "run.json").read_text())
    assert run_json["stages"]["post"]["series_url"].startswith("http://127.0.0.1:")
    assert (data / "runs" / "1" / "series" / "0001-KVM-Split-use-cases-for-kvm_is_reserved_pfn-to-kvm_i.patch").exists()
    # a second run finds the job done: nothing run, nothing posted
    assert run(tmp_path, cfg, data) == 0
    assert "already done (job 1)" in capsys.readouterr().err
    assert series_count(data) == 1
    # a new release is a new job
    (small_tree / "README").write_text("x\n")
    git(small_tree, "add", "-A")
    git(small_tree, "commit", "-qm", "release 2")
    git(small_tree, "tag", "v5.10.2")
    assert run(tmp_path, cfg, data) == 0
    assert series_count(data) == 2


def test_run_resumes_after_a_failed_post(tmp_path: Path, small_tree: Path, capsys, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("TEST_QUEUE_TOKEN", "not-a-real-token")
    dead = bot_toml(tmp_path, small_tree, queue="http://127.0.0.1:9")   # nothing listens there
    assert run(tmp_path, dead, data) == 3
    assert "unreachable" in capsys.readouterr().err
    state = json.loads((data / "runs" / "1" / "run.json").read_text())
    assert set(state["stages"]) == {"apply", "build", "boot"}
    report = data / "runs" / "1" / "report.json"
    stamp = report.stat().st_mtime_ns
    # fixed configuration (embedded queue): only the post stage runs
    monkeypatch.delenv("TEST_QUEUE_TOKEN")
    assert run(tmp_path, bot_toml(tmp_path, small_tree), data) == 0
    assert report.stat().st_mtime_ns == stamp, "apply ran again on resume"
    state = json.loads((data / "runs" / "1" / "run.json").read_text())
    assert state["stages"]["post"]["status"] == "PASS"
    assert os.path.exists(data / "state.sqlite3")
