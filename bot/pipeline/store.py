"""State of jobs: one row per (tree, base, campaign, tool versions), never run twice.

SQLite in the data dir by default; PostgreSQL when [workers] database is set (its connection
layer is bot/pipeline/database.py; the SQL here is portable).

The dedupe key is a hash of the base commit, the campaign's content hash, the
spatch version and the kconfig fragment's hash: change any of them and the
release is a new job; change none and a rerun finds the finished job.

A job's `state` is a bot.status.Status: PENDING, RUNNING, WAITING (posted, the maintainer has
not decided), PASS/FAIL/SKIPPED (finished), ERROR (`error` says why; tried again once
`next_try` has passed, `attempts` counting the errors in a row). `beat` is the last heartbeat
of the worker running the job's stage (None when no worker runs one): a RUNNING job whose beat
stopped lost its worker, and is handed out again once (`claim_stale`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.pipeline import database
from bot.pipeline.config import Config
from bot.status import Status

SCHEMA_VERSION = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    tree TEXT NOT NULL,
    tag TEXT NOT NULL,
    base TEXT NOT NULL,
    campaign TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'PENDING',
    run_dir TEXT NOT NULL,
    series_url TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    beat REAL
);
"""
# columns schema 1 did not have (error .. next_try), and schema 2 (beat)
_ADDED = (("error", "TEXT"), ("attempts", "INTEGER NOT NULL DEFAULT 0"),
          ("next_try", "REAL NOT NULL DEFAULT 0"), ("beat", "REAL"))


@dataclass(frozen=True)
class Job:
    id: int
    dedupe_key: str
    tree: str
    tag: str
    base: str
    campaign: str
    state: Status
    run_dir: Path
    series_url: str | None
    error: str | None = None
    attempts: int = 0
    next_try: float = 0.0
    beat: float | None = None


class Store:
    def __init__(self, where: Path | str):
        """`where`: the SQLite file, or a postgres:// URL ([workers] database)."""
        self.url = where if isinstance(where, str) else ""
        self.path = Path(where) if not self.url else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)
            if self.url:
                for name, decl in _ADDED:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN IF NOT EXISTS {name} "
                               f"{database.postgres_schema(' ' + decl + ' ').strip()}")
            elif db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                _migrate(db)

    @contextmanager
    def _db(self) -> Iterator[Any]:
        if self.url:
            with database.connect(self.url) as pg:
                yield pg
            return
        assert self.path is not None
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.row_factory = sqlite3.Row
            yield db

    def job(self, key: str, *, tree: str, tag: str, base: str, campaign: str,
            runs: Path) -> Job:
        """The job for `key`, created (PENDING) when it is not there yet."""
        now = time.time()
        with self._db() as db:
            db.execute("INSERT INTO jobs (dedupe_key, tree, tag, base, campaign, run_dir,"
                       " created, updated) VALUES (?, ?, ?, ?, ?, '', ?, ?)"
                       " ON CONFLICT (dedupe_key) DO NOTHING",
                       (key, tree, tag, base, campaign, now, now))
            row = db.execute("SELECT * FROM jobs WHERE dedupe_key = ?", (key,)).fetchone()
            if not row["run_dir"]:
                db.execute("UPDATE jobs SET run_dir = ? WHERE id = ?",
                           (str(runs / str(row["id"])), row["id"]))
                row = db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return _job(row)

    def get(self, job_id: int) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def update(self, job_id: int, *, state: Status | str, series_url: str | None = None,
               error: str | None = None) -> None:
        """A new state; an ERROR also counts an attempt, any other state clears the count."""
        st = Status.of(state)
        with self._db() as db:
            if st is Status.ERROR:
                db.execute("UPDATE jobs SET state = ?, error = ?, attempts = attempts + 1,"
                           " updated = ? WHERE id = ?", (st, error, time.time(), job_id))
            else:
                db.execute("UPDATE jobs SET state = ?, series_url = COALESCE(?, series_url),"
                           " error = ?, attempts = 0, next_try = 0, updated = ? WHERE id = ?",
                           (st, series_url, error, time.time(), job_id))

    def retry_at(self, job_id: int, when: float) -> None:
        with self._db() as db:
            db.execute("UPDATE jobs SET next_try = ? WHERE id = ?", (when, job_id))

    def posted(self, tree: str, campaign: str, *, before: int) -> list[Job]:
        """The jobs of (tree, campaign) older than job `before` that have a series in the
        queue, newest first: where a regenerated series finds its previous version."""
        with self._db() as db:
            return [_job(r) for r in db.execute(
                "SELECT * FROM jobs WHERE tree = ? AND campaign = ? AND id < ?"
                " AND series_url IS NOT NULL ORDER BY id DESC", (tree, campaign, before))]

    def beat(self, job_id: int, when: float | None = None) -> None:
        """The worker running the job's stage is alive (`when` None: it ended the stage)."""
        with self._db() as db:
            db.execute("UPDATE jobs SET beat = ? WHERE id = ?", (when, job_id))

    def stale(self, before: float) -> list[Job]:
        """RUNNING jobs whose worker last beat before `before`: it died mid-stage."""
        with self._db() as db:
            return [_job(r) for r in db.execute(
                "SELECT * FROM jobs WHERE state = ? AND beat IS NOT NULL AND beat < ?"
                " ORDER BY id", (Status.RUNNING, before))]

    def claim_stale(self, job: Job) -> bool:
        """Take the stale job for a new try: True for one caller only (the beat it saw goes)."""
        with self._db() as db:
            cur = db.execute("UPDATE jobs SET beat = NULL WHERE id = ? AND beat = ?",
                             (job.id, job.beat))
            return bool(cur.rowcount == 1)

    def jobs(self) -> list[Job]:
        with self._db() as db:
            return [_job(r) for r in db.execute("SELECT * FROM jobs ORDER BY id")]


def location(cfg: Config, data_dir: Path) -> str | Path:
    """Where the jobs are: [workers] database (PostgreSQL, shared by the watcher and every
    worker), else the SQLite file in the data dir (`cocci-bot run` inline)."""
    return (cfg.workers.database if cfg.workers else "") or data_dir / "state.sqlite3"


def describe(where: str | Path) -> str:
    """The store for messages: a PostgreSQL URL without its password, or the SQLite file."""
    if isinstance(where, str):
        return database.redact(where)
    return str(where)


def _migrate(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: the error/back-off columns, states in bot.status's words; 2 -> 3: the
    workers' heartbeat."""
    have = {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}
    for name, decl in _ADDED:
        if name not in have:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {decl}")
    for row in db.execute("SELECT id, state FROM jobs").fetchall():
        db.execute("UPDATE jobs SET state = ? WHERE id = ?", (Status.of(row["state"]), row["id"]))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _job(row: Any) -> Job:
    return Job(id=row["id"], dedupe_key=row["dedupe_key"], tree=row["tree"], tag=row["tag"],
               base=row["base"], campaign=row["campaign"], state=Status.of(row["state"]),
               run_dir=Path(row["run_dir"]), series_url=row["series_url"], error=row["error"],
               attempts=row["attempts"], next_try=row["next_try"], beat=row["beat"])
