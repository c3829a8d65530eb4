"""The one status vocabulary, the store's schema and back-off."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from bot import defaults
from bot.pipeline import runner
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
