"""Scale-out on real parts: Redis and PostgreSQL on loopback (Debian's packages, throwaway data
dirs), the review queue on PostgreSQL, two `cocci-bot worker` processes with data dirs of their
own (two hosts), a shared run dir, and `cocci-bot run` queuing several releases. One worker is
SIGKILLed in the middle of a stage: every job still finishes exactly once, nothing is lost,
nothing is posted twice, and no lock is left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import workers_infra as infra
from bot_setup import BOT, ROOT, bot_toml, git, set_state

from bot import cli

TAGS = ("v5.10.1", "v5.10.2", "v5.10.3", "v5.10.4", "v5.10.5")
VISIBILITY = 20     # seconds: a killed worker's stage is delivered again after this


@pytest.fixture
def releases(fake_kernel_tree: Path) -> Path:
    """The small kernel tree with five releases (v5.10.1 .. v5.10.5): five jobs."""
    for n, tag in enumerate(TAGS[1:], 2):
        (fake_kernel_tree / "Makefile").write_text(f"SUBLEVEL = {n}\n")
        git(fake_kernel_tree, "add", "-A")
        git(fake_kernel_tree, "commit", "-qm", f"release {n}")
        git(fake_kernel_tree, "tag", tag)
    return fake_kernel_tree


def workers_toml(tmp_path: Path, tree: Path, broker: str, database: str, queue: str, *,
                 tags: str = "v5.10.*", since: str = TAGS[0], checks: bool = False,
                 visibility: int = VISIBILITY) -> Path:
    """tmp_path/bot.toml: `tree`'s releases from `since` (every release, not only the newest as
    in a watched tree's first poll), build and boot as `checks`, the shared `queue`, `broker`,
    `database` and run dir tmp_path/runs."""
    return bot_toml(tmp_path / "bot.toml", tree, tags=tags, since=since, build=checks,
                    boot=checks, queue=queue,
                    workers={"broker": broker, "database": database, "run_dir": tmp_path / "runs",
                             "visibility_timeout": visibility})


def stage_lines(logs: list[Path], what: str) -> Counter:
    """(job, stage) -> how many times a worker log says it `what` ('started' / 'finished')."""
    pattern = re.compile(r"worker: job (\d+) (?:\S+ \S+ \S+: )?(\w+) " + what)
    found: Counter = Counter()
    for log in logs:
        for m in pattern.finditer(log.read_text() if log.exists() else ""):
            found[(int(m.group(1)), m.group(2))] += 1
    return found


def jobs(database: str) -> dict[int, str]:
    import psycopg

    with psycopg.connect(database) as db:
        return dict(db.execute("SELECT id, state FROM jobs ORDER BY id").fetchall())


def advisory_locks(database: str) -> int:
    import psycopg

    with psycopg.connect(database) as db:
        row = db.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
        assert row is not None
        return int(row[0])


def wait_until(what: str, ready, logs: list[Path], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
    pytest.fail(f"{what} within {timeout} s\n{tails}")


def test_two_workers_one_killed_every_job_exactly_once(tmp_path: Path, releases: Path,
                                                        monkeypatch):
    import redis

    with infra.redis_server(tmp_path) as broker, infra.postgres() as database, \
            infra.review_queue(tmp_path / "queue", database, ["small-linux"]) as (url, token):
        monkeypatch.setenv("TEST_QUEUE_TOKEN", token)
        cfg = workers_toml(tmp_path, releases, broker, database, url)
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
        workers = [infra.start_worker(cfg, tmp_path / name, log)
                   for name, log in zip(("host-a", "host-b"), logs, strict=True)]
        try:
            # the watcher queues one apply per release and returns
            assert cli.main(["run", "--config", str(cfg), "--data-dir",
                             str(tmp_path / "watcher")]) == 0
            assert set(jobs(database).values()) == {"RUNNING"} and len(jobs(database)) == 5
            # SIGKILL worker A (its whole process group) in the middle of a stage
            wait_until("worker A starts a stage",
                       lambda: any(k[1] == "apply" for k in stage_lines(logs[:1], "started")),
                       logs, 120)
            killed_job = next(k[0] for k in stage_lines(logs[:1], "started"))
            os.killpg(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=10)
            killed_at = time.monotonic()
            # worker B finishes everything, the killed stage included (delivered again)
            wait_until("every job posted",
                       lambda: set(jobs(database).values()) == {"WAITING"}, logs, 240)
            started = stage_lines(logs, "started")
            finished = stage_lines(logs, "finished")
            assert started[(killed_job, "apply")] == 2, started    # A's try and B's
            assert time.monotonic() - killed_at >= 0   # (B's copy waited for the visibility timeout)
            for job in jobs(database):
                for stage in ("apply", "post", "drafts"):
                    assert finished[(job, stage)] == 1, (job, stage, finished)
            # nothing lost, nothing posted twice: one series per release, each in its own job
            posted = infra.series(url)
            assert len(posted) == len(TAGS)
            runs = [json.loads((tmp_path / "runs" / str(j) / "run.json").read_text())
                    for j in jobs(database)]
            assert sorted(r["tag"] for r in runs) == sorted(TAGS)
            assert len({r["stages"]["post"]["series_id"] for r in runs}) == len(TAGS)
            assert all(r["stages"]["apply"]["status"] == "PASS" for r in runs)
            # a stage delivered once more (a duplicate message) does nothing: no second post
            from bot.workers import app as celery_app
            from bot.workers.worker import load

            app = celery_app.make(load(cfg).workers)
            celery_app.send(app, 1, "post")
            wait_until("the duplicate post is seen",
                       lambda: "job 1 post already done" in logs[1].read_text(), logs, 60)
            assert len(infra.series(url)) == len(TAGS)
            # no stale lock, no message left behind
            assert advisory_locks(database) == 0
            r = redis.Redis.from_url(broker)
            assert r.llen("apply") == 0 and r.llen("post") == 0
            wait_until("no unacknowledged message", lambda: r.hlen("unacked") == 0, logs, 30)
        finally:
            for w in workers:
                infra.stop(w)
        # a worker stopped with SIGTERM (warm shutdown) exits cleanly
        assert workers[1].returncode == 0, logs[1].read_text()[-2000:]


def test_a_tree_given_by_url_is_fetched_by_each_worker_host(tmp_path: Path, releases: Path,
                                                            monkeypatch):
    """A tree bot.toml names only by `url`: the watcher fetches it to find the releases, the
    worker host fetches it into its own data dir to run them (nothing shared but the URL)."""
    with infra.redis_server(tmp_path) as broker, infra.postgres() as database, \
            infra.review_queue(tmp_path / "queue", database, ["small-linux"]) as (url, token):
        monkeypatch.setenv("TEST_QUEUE_TOKEN", token)
        cfg = bot_toml(tmp_path / "bot.toml", url=f"file://{releases}", since="v5.10.4",
                       queue=url, workers={"broker": broker, "database": database,
                                           "run_dir": tmp_path / "runs",
                                           "visibility_timeout": VISIBILITY})
        logs = [tmp_path / "worker.log"]
        workers = [infra.start_worker(cfg, tmp_path / "host", logs[0])]
        try:
            assert cli.main(["run", "--config", str(cfg), "--data-dir",
                             str(tmp_path / "watcher")]) == 0
            assert len(jobs(database)) == 2
            wait_until("both jobs posted",
                       lambda: set(jobs(database).values()) == {"WAITING"}, logs, 240)
        finally:
            for w in workers:
                infra.stop(w)
        fetched = tmp_path / "host" / "remotes" / "small-linux.git"
        assert set(git(fetched, "tag").split()) == set(TAGS)
        assert len(infra.series(url)) == 2
        runs = [json.loads((tmp_path / "runs" / str(j) / "run.json").read_text())
                for j in jobs(database)]
        assert sorted(r["tag"] for r in runs) == ["v5.10.4", "v5.10.5"]
        assert all(r["stages"]["apply"]["status"] == "PASS" for r in runs)


def maintainer(queue_data: Path, database: str) -> str:
    """A maintainer's API token in the PostgreSQL review queue."""
    return subprocess.run(
        [*BOT, "serve", "--create-token", "maintainer", "alice", "--data-dir",
         str(queue_data)], check=True, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DATABASE_URL": database}, cwd=ROOT).stdout.split()[-1]


def run_record(tmp_path: Path, job: int) -> dict:
    return json.loads((tmp_path / "runs" / str(job) / "run.json").read_text())


def test_vn_plus_1_on_two_workers_finds_vn_through_the_job_store(tmp_path: Path,
                                                                  releases: Path, monkeypatch):
    """The workers keep runs in the shared run dir, not in their data dirs: v2 of the series,
    regenerated on the next release, still carries the range-diff against v1, the site delta,
    and its drafts reply to v1's cover letter."""
    with infra.redis_server(tmp_path) as broker, infra.postgres() as database, \
            infra.review_queue(tmp_path / "queue", database, ["small-linux"]) as (url, token):
        monkeypatch.setenv("TEST_QUEUE_TOKEN", token)
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
        first = workers_toml(tmp_path, releases, broker, database, url, tags="v5.10.1")
        workers = [infra.start_worker(first, tmp_path / name, log)
                   for name, log in zip(("host-a", "host-b"), logs, strict=True)]
        watcher = ["--data-dir", str(tmp_path / "watcher")]
        try:
            assert cli.main(["run", "--config", str(first), *watcher]) == 0
            wait_until("v1 posted", lambda: list(jobs(database).values()) == ["WAITING"], logs,
                       240)
            both = workers_toml(tmp_path, releases, broker, database, url, tags="v5.10.[12]")
            assert cli.main(["run", "--config", str(both), *watcher]) == 0
            wait_until("v2 posted", lambda: list(jobs(database).values()) == ["WAITING"] * 2,
                       logs, 240)
            first_job, second_job = jobs(database)     # job ids: PostgreSQL's, not 1 and 2
            v1 = run_record(tmp_path, first_job)["stages"]
            v2 = run_record(tmp_path, second_job)["stages"]
            assert v2["post"]["version"] == 2
            assert v2["post"]["previous_series_id"] == v1["post"]["series_id"]
            assert v2["post"]["range_diff"] is True
            assert v2["post"]["site_delta"] == {"appeared": 0, "vanished": 0, "changed": 0}
            # the maintainer accepts v2: its drafts thread under v1's cover letter
            set_state(url, maintainer(tmp_path / "queue", database), v2["post"]["series_id"])
            assert cli.main(["run", "--config", str(both), *watcher]) == 0
            wait_until("v2's drafts", lambda: run_record(tmp_path, second_job)["stages"][
                "drafts"]["status"] == "PASS", logs, 240)
            drafts = run_record(tmp_path, second_job)["stages"]["drafts"]
            assert drafts["in_reply_to"] == v1["post"]["cover_message_id"] is not None
        finally:
            for w in workers:
                infra.stop(w)


def test_a_killed_workers_stage_runs_again_within_two_minutes(tmp_path: Path, releases: Path,
                                                              monkeypatch):
    """Redis gives a dead worker's message back only after the visibility timeout (3 hours
    here, as deployed): the job store's heartbeat hands the stage to the live worker within
    two minutes, once, and the series is posted once."""
    with infra.redis_server(tmp_path) as broker, infra.postgres() as database, \
            infra.review_queue(tmp_path / "queue", database, ["small-linux"]) as (url, token):
        monkeypatch.setenv("TEST_QUEUE_TOKEN", token)
        cfg = workers_toml(tmp_path, releases, broker, database, url, tags="v5.10.1",
                           visibility=10800)
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
        workers = [infra.start_worker(cfg, tmp_path / "host-a", logs[0])]
        try:
            assert cli.main(["run", "--config", str(cfg), "--data-dir",
                             str(tmp_path / "watcher")]) == 0
            (job,) = jobs(database)
            wait_until("worker A starts the apply",
                       lambda: list(stage_lines(logs[:1], "started")) == [(job, "apply")],
                       logs, 120)
            workers.append(infra.start_worker(cfg, tmp_path / "host-b", logs[1]))
            os.killpg(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=10)
            killed_at = time.monotonic()
            wait_until("B runs the apply again",
                       lambda: stage_lines(logs[1:], "started")[(job, "apply")] == 1, logs, 150)
            again = time.monotonic() - killed_at
            print(f"the killed worker's apply started again on B {again:.0f} s after SIGKILL")
            assert again < 120
            wait_until("the job posted", lambda: jobs(database) == {job: "WAITING"}, logs, 240)
            assert "stopped beating" in logs[1].read_text()
            assert stage_lines(logs, "started")[(job, "apply")] == 2
            assert stage_lines(logs, "finished")[(job, "post")] == 1
            assert len(infra.series(url)) == 1
        finally:
            for w in workers:
                infra.stop(w)


def test_worker_needs_a_broker_and_a_shared_queue(tmp_path: Path, capsys):
    plain = tmp_path / "plain.toml"
    plain.write_text('[[tree]]\nname = "t"\nsource = "git"\npath = "/nonexistent"\n')
    assert cli.main(["worker", "--config", str(plain)]) == 2
    assert "has no [workers] section" in capsys.readouterr().err
    no_queue = tmp_path / "noqueue.toml"
    no_queue.write_text(plain.read_text() + '[workers]\nbroker = "redis://127.0.0.1:1/0"\n')
    assert cli.main(["worker", "--config", str(no_queue)]) == 2
    assert "set [queue] url" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(plain.read_text() + '[workers]\nbroker = "amqp://x"\n')
    assert cli.main(["worker", "--config", str(bad)]) == 2
    assert "is not a Redis URL" in capsys.readouterr().err
    dead = tmp_path / "dead.toml"
    dead.write_text(no_queue.read_text() + '[queue]\nurl = "http://127.0.0.1:9"\n')
    assert cli.main(["worker", "--config", str(dead), "--queues", "apply,bogus"]) == 2
    assert "--queues 'apply,bogus': use some of apply,build,boot,post" in capsys.readouterr().err
    assert cli.main(["worker", "--config", str(dead), "--check",
                     "--data-dir", str(tmp_path / "d")]) == 3
    assert "broker redis://127.0.0.1:1/0 unreachable" in capsys.readouterr().err


@pytest.mark.slow
def test_build_and_boot_run_on_the_build_boot_worker(tmp_path: Path, kernel_repo: Path,
                                                      monkeypatch):
    """One real release (5.10.223): apply and post on one worker, the kernel build and the QEMU
    boot on another that serves only the build and boot queues (as a big KVM host would)."""
    tree = tmp_path / "linux.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--shared", str(kernel_repo), str(tree)],
                   check=True)
    with infra.redis_server(tmp_path) as broker, infra.postgres() as database, \
            infra.review_queue(tmp_path / "queue", database, ["small-linux"]) as (url, token):
        monkeypatch.setenv("TEST_QUEUE_TOKEN", token)
        cfg = workers_toml(tmp_path, tree, broker, database, url, tags="v5.10.223",
                           since="v5.10.223", checks=True, visibility=3600)
        logs = [tmp_path / "apply-post.log", tmp_path / "build-boot.log"]
        workers = [infra.start_worker(cfg, tmp_path / "small-host", logs[0], "apply,post"),
                   infra.start_worker(cfg, tmp_path / "big-host", logs[1], "build,boot")]
        try:
            assert cli.main(["run", "--config", str(cfg), "--data-dir",
                             str(tmp_path / "watcher")]) == 0
            wait_until("the job is posted", lambda: set(jobs(database).values()) <= {
                "WAITING", "PASS", "FAIL", "ERROR"} and jobs(database) != {}, logs, 2400)
        finally:
            for w in workers:
                infra.stop(w)
        state = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
        got = {k: v["status"] for k, v in state["stages"].items()}
        assert got == {"apply": "PASS", "build": "PASS", "boot": "PASS", "post": "PASS",
                       "drafts": "WAITING"}, state
        assert Path(state["stages"]["build"]["kernel"]).is_relative_to(tmp_path / "runs" / "1")
        ran = {log.name: set(stage_lines([log], "finished")) for log in logs}
        assert ran["apply-post.log"] == {(1, "apply"), (1, "post"), (1, "drafts")}
        assert ran["build-boot.log"] == {(1, "build"), (1, "boot")}
        assert len(infra.series(url)) == 1
        assert advisory_locks(database) == 0
