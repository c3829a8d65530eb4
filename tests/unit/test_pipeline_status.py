"""The one status vocabulary, the store's schema and back-off, run.json's job status."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from bot import defaults
from bot.pipeline import runner
from bot.pipeline.run import STAGES, job_status
from bot.pipeline.store import SCHEMA_VERSION, Store
from bot.post import outdir
from bot.status import SCHEMA, Status, check_state, exit_code


@pytest.mark.parametrize(("written", "status"), [
    ("PASS", Status.PASS), ("FAIL", Status.FAIL), ("SKIPPED", Status.SKIPPED),
    # schema 1 spellings still read
    ("pass", Status.PASS), ("fail", Status.FAIL), ("infra-error", Status.ERROR),
    ("skipped", Status.SKIPPED), ("waiting", Status.WAITING), ("error", Status.ERROR),
    (None, Status.RUNNING), ("running", Status.RUNNING), ("new", Status.PENDING),
    ("done", Status.PASS), ("failed", Status.ERROR), ("posted", Status.WAITING)])
def test_every_spelling_reads_as_one_status(written, status):
    assert Status.of(written) is status


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        Status.of("maybe")


def test_final_and_exit_codes():
    assert {s for s in Status if s.final} == {Status.PASS, Status.FAIL, Status.SKIPPED}
    assert [exit_code(s) for s in (Status.PASS, Status.FAIL, Status.ERROR, Status.WAITING)] == \
        [0, 1, 3, 0]


def test_queue_check_states_are_mapped_in_one_place():
    assert [check_state(s) for s in (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED)] \
        == ["success", "fail", "warning", "warning"]
    assert check_state("PASS", warnings=True) == "warning"
    assert check_state("infra-error") == "warning"    # a schema 1 boot.json


def test_post_reads_build_and_boot_through_the_one_vocabulary(tmp_path: Path):
    from bot import jsonfile

    jsonfile.write(tmp_path / "build" / "build.json",
                   {"schema": SCHEMA, "status": "PASS", "new_warnings": [{"file": "x.c"}]})
    jsonfile.write(tmp_path / "boot" / "boot.json",
                   {"schema": SCHEMA, "status": "ERROR", "verdict": "infra-error",
                    "kvm_smoke": "skipped"})
    checks = {c["context"]: c["state"] for c in outdir.checks(tmp_path, {"idempotent": True})}
    assert checks == {"idempotence": "success", "build": "warning", "boot": "warning",
                      "kvm-smoke": "warning"}
    jsonfile.write(tmp_path / "build" / "build.json", {"status": "RUNNING"})
    with pytest.raises(Exception, match="status must be PASS or FAIL, got 'RUNNING'"):
        outdir.checks(tmp_path, {})


def _state(**stages: str) -> dict:
    return {"stages": {k: {"status": v, "error": "boom" if v == "ERROR" else None,
                           "why": "why-" + k} for k, v in stages.items()}}


def test_job_status_from_the_stages():
    assert job_status({"stages": {}}) == (Status.PENDING, None)
    assert job_status(_state(apply="PASS")) == (Status.RUNNING, None)
    assert job_status(_state(apply="PASS", build="ERROR")) == (Status.ERROR, "build: boom")
    assert job_status(_state(apply="PASS", build="FAIL", boot="SKIPPED", post="PASS",
                             drafts="WAITING"))[0] is Status.WAITING
    everything = dict.fromkeys(STAGES, "PASS")
    assert job_status(_state(**everything)) == (Status.PASS, None)
    everything["build"] = "FAIL"
    assert job_status(_state(**everything)) == (Status.FAIL, "build: why-build")


def test_backoff_doubles_up_to_the_ceiling():
    first = defaults.RETRY_BACKOFF_FIRST
    assert [runner.backoff(n) for n in (1, 2, 3)] == [first, 2 * first, 4 * first]
    assert runner.backoff(100) == defaults.RETRY_BACKOFF_MAX


def test_store_counts_errors_in_a_row_and_clears_them(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite3")
    job = store.job("k", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path)
    assert job.state is Status.PENDING and job.attempts == 0
    store.update(job.id, state=Status.ERROR, error="queue unreachable")
    store.update(job.id, state=Status.ERROR, error="queue unreachable again")
    store.retry_at(job.id, time.time() + 60)
    got = store.get(job.id)
    assert got is not None
    assert (got.state, got.attempts, got.error) == (Status.ERROR, 2, "queue unreachable again")
    assert got.next_try > time.time()
    store.update(job.id, state=Status.WAITING, series_url="http://q/1/")
    got = store.get(job.id)
    assert got is not None
    assert (got.state, got.attempts, got.error, got.next_try) == (Status.WAITING, 0, None, 0)


def test_store_schema_1_is_migrated(tmp_path: Path):
    path = tmp_path / "state.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, dedupe_key TEXT NOT NULL UNIQUE,"
                   " tree TEXT NOT NULL, tag TEXT NOT NULL, base TEXT NOT NULL, campaign TEXT "
                   "NOT NULL, state TEXT NOT NULL DEFAULT 'new', run_dir TEXT NOT NULL, "
                   "series_url TEXT, created REAL NOT NULL, updated REAL NOT NULL)")
        db.execute("INSERT INTO jobs VALUES (1, 'k', 't', 'v1', 'b', 'c', 'posted', '/r/1', "
                   "'http://q/1/', 0, 0)")
        db.execute("INSERT INTO jobs VALUES (2, 'k2', 't', 'v2', 'b', 'c', 'failed', '/r/2', "
                   "NULL, 0, 0)")
    store = Store(path)
    assert [(j.state, j.attempts) for j in store.jobs()] == [(Status.WAITING, 0),
                                                              (Status.ERROR, 0)]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_worker_rebuilds_the_context_from_run_json(tmp_path: Path):
    from bot.errors import UserError
    from bot.pipeline import config
    from bot.pipeline.run import Context, context_of, load_state
    from bot.pipeline.watch import Release

    cfg = config.load(None)
    store = Store(tmp_path / "s.sqlite3")
    job = store.job("k", tree="debian-linux", tag="v5.10.1", base="b" * 40,
                    campaign="kvm-refcounted-pfn", runs=tmp_path / "runs")
    rel = Release(cfg.trees[0], tmp_path / "repo.git", "v5.10.1", "b" * 40)
    load_state(Context(job, rel, "kvm-refcounted-pfn", cfg, tmp_path, lambda: ("", "")))
    ctx = context_of(job, cfg, tmp_path, lambda: ("", ""))
    assert (ctx.release, ctx.campaign, ctx.run_dir) == (rel, "kvm-refcounted-pfn", job.run_dir)
    other = store.job("k2", tree="t", tag="v1", base="c" * 40, campaign="c", runs=tmp_path / "r")
    with pytest.raises(UserError, match="has no readable run.json"):
        context_of(other, cfg, tmp_path, lambda: ("", ""))


def test_a_series_the_tree_does_not_want_posted_ends_the_job_skipped(tmp_path: Path):
    """[[tree]] post = "fixes": a cleanup-only series is not posted; the job is SKIPPED
    with the reason, and the series stays in the run directory to read."""
    import json
    from types import SimpleNamespace

    from bot.pipeline import config
    from bot.pipeline.run import stage_post

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "report.json").write_text(json.dumps(
        {"series_kind": "cleanup", "tree_kind": "stable"}))
    tree = config.Tree(name="debian-linux", post="fixes")
    assert tree.tree_kind == "stable" and config.Tree(name="x").post == "all"
    ctx = SimpleNamespace(release=SimpleNamespace(tree=tree, tag="v5.10.223"),
                          run_dir=tmp_path / "run", data_dir=tmp_path, campaign="c",
                          job=SimpleNamespace(id=1))
    state = _state(apply="PASS", build="PASS", boot="PASS")
    state["stages"]["apply"]["head"] = "abc"
    post = stage_post(ctx, state)   # type: ignore[arg-type]
    assert post["status"] is Status.SKIPPED and "cleanup-only" in post["why"]
    assert str(tmp_path / "run" / "series") in post["why"]
    state["stages"] |= {"post": post, "drafts": {"status": "SKIPPED", "why": "n"},
                        "mail": {"status": "SKIPPED", "why": "n"}}
    assert job_status(state) == (Status.SKIPPED, f"post: {post['why']}")
