"""The scheduler (next stage, skips, due jobs) and the typed run record it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import UserError
from bot.pipeline import record, scheduler
from bot.pipeline.record import ApplyResult, Options, PostResult, RunRecord
from bot.pipeline.scheduler import STAGES, job_status, light, next_stage, not_due, skip
from bot.pipeline.store import Store
from bot.status import SCHEMA, Status


def run(options: Options | None = None, **stages: dict) -> RunRecord:
    return RunRecord(job=1, tree="t", tag="v1", base="b" * 40, repo="/r", campaign="c",
                     options=options or Options(), stages=stages)


def st(status: str, **extra) -> dict:
    return {"status": status, **extra}


APPLIED = st("PASS", head="a" * 40, nothing_to_do=False)
NOTHING = st("PASS", head=None, nothing_to_do=True)


def test_next_stage_is_the_first_without_a_final_result():
    assert next_stage(None) == "apply"
    rec = run(apply=APPLIED, build=st("SKIPPED"), boot=st("RUNNING"))
    assert next_stage(rec) == "boot"
    rec = run(apply=APPLIED, build=st("SKIPPED"), boot=st("SKIPPED"), post=st("PASS"),
              drafts=st("WAITING"))
    assert next_stage(rec) == "drafts"                  # a waiting draft is asked again
    rec.stages["drafts"] = record.result("drafts", st("PASS"))
    assert next_stage(rec) == "mail"                    # sending (or its skip) comes last
    rec.stages["mail"] = record.result("mail", st("SKIPPED"))
    assert next_stage(rec) is None
    rec.stages["post"] = record.result("post", st("ERROR", error="queue down"))
    assert next_stage(rec) == "post"                    # an error is retried


def _all(**override: str) -> RunRecord:
    marks = dict.fromkeys(STAGES, "PASS") | override
    return run(**{k: st(v, why="why-" + k, error="boom" if v == "ERROR" else None)
                  for k, v in marks.items()})


def test_job_status_from_the_stages():
    assert job_status(run()) == (Status.PENDING, None)
    assert job_status(run(apply=APPLIED)) == (Status.RUNNING, None)
    assert job_status(run(apply=APPLIED, build=st("ERROR", error="boom"))) == \
        (Status.ERROR, "build: boom")
    assert job_status(run(apply=APPLIED, build=st("FAIL"), boot=st("SKIPPED"), post=st("PASS"),
                          drafts=st("WAITING")))[0] is Status.WAITING
    assert job_status(_all()) == (Status.PASS, None)
    assert job_status(_all(build="FAIL")) == (Status.FAIL, "build: why-build")


def test_skips_follow_the_record_and_its_options():
    applied, nothing = run(apply=APPLIED), run(apply=NOTHING)
    assert skip(applied, "build") is None and not light(applied, "build")   # a real build
    assert skip(run(Options(build=False), apply=APPLIED), "build") == \
        "disabled in the configuration"
    assert skip(nothing, "build") == "nothing to build"
    assert skip(nothing, "post") is None and light(nothing, "post")   # absorbed: mark vN
    assert skip(run(apply=st("FAIL")), "post") == "no series to post"
    assert not light(applied, "post")
    built = run(apply=APPLIED, build=st("PASS"))
    assert skip(built, "boot") is None
    assert skip(run(Options(boot=False), apply=APPLIED, build=st("PASS")), "boot") == \
        "disabled in the configuration"
    assert skip(run(apply=APPLIED, build=st("FAIL")), "boot") == "no patched kernel to boot"
    assert skip(built, "drafts") == "nothing was posted"
    assert skip(built, "mail") == "no drafts"


def test_due_jobs(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite3")
    job = store.job("k", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path)
    assert not_due(job, honour_backoff=True, held_elsewhere=True) is None
    assert not_due(job, honour_backoff=True, held_elsewhere=True, tree="t") is None
    assert not_due(job, honour_backoff=True, held_elsewhere=True, tree="fork") == \
        "the same commit as tree t's job: run and posted there"
    store.update(job.id, state=Status.RUNNING)
    running = store.get(job.id)
    assert running is not None
    assert not_due(running, honour_backoff=True, held_elsewhere=False) is None   # resumed
    assert not_due(running, honour_backoff=True, held_elsewhere=True) == \
        "being worked on by the workers"
    store.update(job.id, state=Status.ERROR, error="down")
    store.retry_at(job.id, 1000.0)
    failed = store.get(job.id)
    assert failed is not None
    assert not_due(failed, honour_backoff=True, held_elsewhere=False, now=400.0) == \
        "error 1 in a row (down); next try in 600 s"
    assert not_due(failed, honour_backoff=False, held_elsewhere=False, now=400.0) is None
    store.update(job.id, state=Status.WAITING)
    waiting = store.get(job.id)
    assert waiting is not None and not_due(waiting, honour_backoff=False,
                                           held_elsewhere=False) is None
    store.update(job.id, state=Status.PASS)
    done = store.get(job.id)
    assert done is not None
    assert not_due(done, honour_backoff=False, held_elsewhere=False) == "already done"


def test_the_run_record_round_trips_typed_and_keeps_unknown_keys(tmp_path: Path):
    rec = run(apply=APPLIED, post=st("PASS", series_id=4, series_url="http://q/4/", version=2,
                                     attribution={"who": "x"}))
    record.write(tmp_path, rec)
    on_disk = json.loads((tmp_path / "run.json").read_text())
    assert on_disk["schema"] == SCHEMA and on_disk["options"] == {"build": True, "boot": True}
    assert on_disk["stages"]["post"]["attribution"] == {"who": "x"}   # a newer stage's field
    assert "why" not in on_disk["stages"]["apply"]
    back = record.read(tmp_path)
    assert back is not None and back == rec
    assert isinstance(back.apply, ApplyResult) and back.apply.head == "a" * 40
    assert isinstance(back.post, PostResult) and back.post.series_id == 4
    assert back.stages["apply"].status is Status.PASS
    assert record.read(tmp_path / "nothing") is None


def test_a_schema_1_run_record_reads(tmp_path: Path):
    (tmp_path / "run.json").write_text(json.dumps({
        "job": 3, "tree": "t", "tag": "v1", "base": "b" * 40, "repo": "/r", "campaign": "c",
        "status": "posted", "stages": {"apply": {"status": "pass", "head": "h"},
                                       "post": {"status": "pass", "series_id": 9}}}))
    rec = record.read(tmp_path)
    assert rec is not None and rec.status is Status.WAITING
    assert rec.options == Options() and scheduler.next_stage(rec) == "build"


def test_a_broken_run_record_names_the_fix(tmp_path: Path):
    (tmp_path / "run.json").write_text('{"job": "x"}')
    with pytest.raises(UserError, match="is not a run record .*remove the job's run dir"):
        record.read(tmp_path)


def test_status_shows_the_running_stages_progress_from_the_record(tmp_path: Path):
    from bot.pipeline import report

    store = Store(tmp_path / "s.sqlite3")
    job = store.job("k", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "r")
    record.write(job.run_dir, run(apply=APPLIED, build=st("RUNNING")))
    (job.run_dir / "build").mkdir()
    (job.run_dir / "build" / "progress.json").write_text(json.dumps({"line": "make 41%"}))
    got = report.job_record(job)
    assert got["progress"] == "make 41%"
    assert got["stages"] == {"apply": Status.PASS, "build": Status.RUNNING}


def test_a_series_the_tree_does_not_want_posted_ends_the_job_skipped(tmp_path: Path):
    """[[tree]] post = "fixes": a cleanup-only series is not posted; the job is SKIPPED
    with the reason, and the series stays in the run directory to read."""
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
    post = stage_post(ctx, run(apply=APPLIED))   # type: ignore[arg-type]
    assert post["status"] is Status.SKIPPED and "cleanup-only" in post["why"]
    assert str(tmp_path / "run" / "series") in post["why"]
    rec = _all(drafts="SKIPPED", mail="SKIPPED")
    rec.stages["post"] = record.result("post", post)
    assert job_status(rec) == (Status.SKIPPED, f"post: {post['why']}")
