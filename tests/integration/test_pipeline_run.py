"""`cocci-bot run` end to end on a small git tree: apply -> (build/boot off) -> post to the
embedded review queue (real gunicorn, real SQLite), dedupe on rerun, resume after a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from bot_setup import BOT, accept, bot_toml, git, queue_series, run, run_argv, run_json

from bot import cli


@pytest.fixture
def small_tree(fake_kernel_tree: Path) -> Path:
    return fake_kernel_tree


def status_json(data: Path, capsys) -> list[dict]:
    capsys.readouterr()
    assert cli.main(["status", "--json", "--data-dir", str(data)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 2
    return doc["jobs"]


def bot_tokens(data: Path) -> int:
    """API tokens in the embedded queue's database."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(data / "review" / "db.sqlite3")) as db:
        return int(db.execute("SELECT count(*) FROM review_apitoken").fetchone()[0])


def test_run_posts_once_dedupes_and_drafts_after_approval(tmp_path: Path, small_tree: Path,
                                                            capsys):
    data = tmp_path / "data"
    cfg = bot_toml(tmp_path / "bot.toml", small_tree)
    assert run(cfg, data) == 0
    err = capsys.readouterr().err
    assert ("run: small-linux v5.10.1 kvm-refcounted-pfn: apply PASS, build SKIPPED, "
            "boot SKIPPED, post PASS, drafts WAITING -> http://127.0.0.1:") in err
    job1 = run_json(data)
    assert job1["stages"]["post"]["series_url"].startswith("http://127.0.0.1:")
    assert (data / "runs" / "1" / "series" / "0001-KVM-Split-use-cases-for-kvm_is_reserved_pfn-to-kvm_i.patch").exists()
    token = data / "bot-token"
    assert token.stat().st_mode & 0o777 == 0o600
    first_token = token.read_text()
    # a second run re-asks the queue but posts nothing again, with the same token
    assert run(cfg, data) == 0
    assert token.read_text() == first_token and bot_tokens(data) == 1
    assert "drafts WAITING" in capsys.readouterr().err
    assert len(queue_series(data)) == 1
    assert not (data / "runs" / "1" / "drafts").exists()
    # `cocci-bot status` says where the job stands
    job = status_json(data, capsys)[0]
    assert {k: job[k] for k in ("job", "tree", "release", "campaign", "status")} == {
        "job": 1, "tree": "small-linux", "release": "v5.10.1",
        "campaign": "kvm-refcounted-pfn", "status": "WAITING"}
    assert job["stages"] == {"apply": "PASS", "build": "SKIPPED", "boot": "SKIPPED",
                             "post": "PASS", "drafts": "WAITING"}
    assert job["reason"] == "series is 'new' in the queue"
    assert job["series_url"] == job1["stages"]["post"]["series_url"] and job["drafts"] is None
    assert cli.main(["status", "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert "job 1: small-linux v5.10.1 kvm-refcounted-pfn: WAITING (apply PASS, build " in text
    assert f"series: {job['series_url']}" in text and "drafts: none yet" in text
    # the maintainer accepts; the next run writes the drafts (and sends nothing)
    accept(data, job1["stages"]["post"]["series_id"])
    assert run(cfg, data) == 0
    job = status_json(data, capsys)[0]
    assert job["status"] == "PASS" and job["drafts"] == str(data / "runs" / "1" / "drafts")
    drafts = sorted((data / "runs" / "1" / "drafts").glob("*.patch"))
    assert [d.name[:4] for d in drafts] == ["0000", "0001", "0002"]
    cover = drafts[0].read_text()
    # a cleanup-only series on a stable tree (the fake tree is tagged v5.10.1): an RFC, tagged
    # with its line, the cover subject capitalised like the patches (issue 14 §1, §3)
    assert ("Subject: [RFC PATCH 5.10 0/2] KVM: Split kvm_is_reserved_pfn() by the question "
            "it answers") in cover
    assert "base-commit: " in cover and "*** BLURB HERE ***" not in cover
    # done now: a further run leaves it alone
    assert run(cfg, data) == 0
    assert "already done (job 1)" in capsys.readouterr().err
    # a new release is a new job
    (small_tree / "README").write_text("x\n")
    git(small_tree, "add", "-A")
    git(small_tree, "commit", "-qm", "release 2")
    git(small_tree, "tag", "v5.10.2")
    assert run(cfg, data) == 0
    assert len(queue_series(data)) == 2


def test_run_resumes_after_a_failed_post(tmp_path: Path, small_tree: Path, capsys, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("TEST_QUEUE_TOKEN", "not-a-real-token")
    dead = bot_toml(tmp_path / "bot.toml", small_tree,
                    queue="http://127.0.0.1:9")   # nothing listens there
    assert run(dead, data) == 3
    assert "unreachable" in capsys.readouterr().err
    state = run_json(data)
    post = state["stages"]["post"]   # the error is recorded with its message, the job too
    assert (post["status"], post["exit"]) == ("ERROR", 3) and "unreachable" in post["error"]
    assert state["status"] == "ERROR" and state["error"].startswith("post: ")
    report = data / "runs" / "1" / "report.json"
    stamp = report.stat().st_mtime_ns
    # fixed configuration (embedded queue): only the post stage runs
    monkeypatch.delenv("TEST_QUEUE_TOKEN")
    assert run(bot_toml(tmp_path / "bot.toml", small_tree), data) == 0
    assert report.stat().st_mtime_ns == stamp, "apply ran again on resume"
    state = run_json(data)
    assert state["stages"]["post"]["status"] == "PASS"
    assert os.path.exists(data / "state.sqlite3")


def watch_cycles(proc: subprocess.Popen, cycles: int, timeout: float = 240) -> list[str]:
    """`run --watch 0.5`'s stderr lines up to its `cycles`-th "next look" (or the timeout)."""
    import time

    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        seen.append(proc.stderr.readline())
        if sum("next look in 0.5 s" in s for s in seen) == cycles:
            break
    return seen


def test_watch_runs_cycles_until_interrupted(tmp_path: Path, small_tree: Path):
    """--watch: a first cycle posts, the next ones only re-ask the queue; Ctrl-C ends it cleanly
    and leaves no embedded queue running."""
    import signal

    data = tmp_path / "data"
    cfg = bot_toml(tmp_path / "bot.toml", small_tree)
    proc = subprocess.Popen([*BOT, *run_argv(cfg, data, "--watch", "0.5")],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = watch_cycles(proc, 2)
    # the queue stays up while watching: the series URL the run printed answers
    url = next(s for s in seen if "post PASS, drafts WAITING -> " in s).split(" -> ")[1].strip()
    assert requests.get(url, timeout=10).status_code == 200
    proc.send_signal(signal.SIGINT)
    _out, rest = proc.communicate(timeout=60)
    text = "".join(seen) + rest
    assert proc.returncode == 130, text
    assert text.count("v5.10.1 post PASS") == 1 and text.count("v5.10.1 drafts WAITING") >= 2
    leftovers = subprocess.run(["pgrep", "-f", f"--data-dir {data}"], capture_output=True,
                               text=True).stdout.split()
    assert leftovers == [], text


def test_watch_needs_a_positive_interval(capsys):
    assert cli.main(["run", "--watch", "0"]) == 2
    assert "--watch takes a positive number of seconds" in capsys.readouterr().err


def test_status_before_any_run(tmp_path: Path, capsys):
    assert cli.main(["status", "--data-dir", str(tmp_path / "d")]) == 0
    assert "no jobs in" in capsys.readouterr().out and not (tmp_path / "d").exists()


def test_a_tree_that_fails_does_not_stop_the_others(tmp_path: Path, small_tree: Path, capsys):
    data = tmp_path / "data"
    cfg = tmp_path / "two.toml"
    cfg.write_text(bot_toml(tmp_path / "bot.toml", small_tree).read_text() + f"""
[[tree]]
name = "gone-linux"
source = "git"
path = "{tmp_path / 'gone'}"
""")
    assert run(cfg, data) == 2
    err = capsys.readouterr().err
    assert "run: tree gone-linux: " in err and "the other trees go on" in err
    assert "small-linux v5.10.1 kvm-refcounted-pfn: apply PASS" in err
    assert len(queue_series(data)) == 1


def test_watch_survives_a_job_error_and_stops_on_sigterm(tmp_path: Path, small_tree: Path):
    """The queue is down: the job's post is an ERROR with its message, retried with back-off;
    --watch goes on; SIGTERM ends it cleanly (exit 0, nothing left running)."""
    import signal

    data = tmp_path / "data"
    env = dict(os.environ, TEST_QUEUE_TOKEN="t")
    cfg = bot_toml(tmp_path / "bot.toml", small_tree, queue="http://127.0.0.1:9")
    proc = subprocess.Popen([*BOT, *run_argv(cfg, data, "--watch", "0.5")],
                            stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    seen = watch_cycles(proc, 3)
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=60)
    text = "".join(seen) + rest
    assert proc.returncode == 0, text
    assert "stopped by SIGTERM" in text
    assert text.count("v5.10.1 post ERROR (review queue at http://127.0.0.1:9 unreachable") == 1
    assert "kvm-refcounted-pfn: ERROR (post: review queue at" in text and "try 1, next in 60 s" \
        in text
    assert "error 1 in a row (post: review queue at http://127.0.0.1:9 unreachable" in text
    state = run_json(data)
    assert state["status"] == "ERROR" and "unreachable" in state["error"]
    leftovers = subprocess.run(["pgrep", "-f", f"--data-dir {data}"], capture_output=True,
                               text=True).stdout.split()
    assert leftovers == [], text


def test_serve_create_project_follows_the_naming_rule(tmp_path: Path):
    res = subprocess.run([sys.executable, "-m", "bot", "serve", "--create-project",
                          "Debian.Linux", "--data-dir", str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip() == ("error: project name 'Debian.Linux' is not a valid name: use "
                                  "1-64 lowercase letters, digits, - and _, starting and ending "
                                  "with a letter or digit, e.g. 'debian-linux'")


def test_embedded_queue_whose_port_was_taken_moves_to_another(tmp_path: Path, monkeypatch):
    """Another server takes the port between the look and the bind, and answers like a queue:
    it is not taken for ours; the queue starts on another port and the token works there."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot.pipeline import queue as queue_mod
    from bot.pipeline.config import Config

    class Impostor(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    taken = other.server_address[1]
    real, calls = queue_mod.free_port, []

    def racy(preferred: int = 8000) -> int:
        calls.append(preferred)
        return taken if len(calls) == 1 else real(preferred)

    monkeypatch.setattr(queue_mod, "free_port", racy)
    try:
        with queue_mod.ReviewQueue(Config(), tmp_path / "data") as q:
            url, token = q()
            assert not url.endswith(f":{taken}") and len(calls) == 2
            assert queue_mod.token_accepted(url, token)
            assert not queue_mod.token_accepted(url, "not-a-token")
    finally:
        other.shutdown()
