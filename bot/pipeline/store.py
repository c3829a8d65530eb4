"""State of jobs: one row per (tree, base, campaign, tool versions), never run twice.

SQLite in the data dir by default; PostgreSQL when [workers] database is set (the
connection layer is bot/workers/database.py; the SQL here is portable).

The dedupe key is a hash of the base commit, the campaign's content hash, the
spatch version and the kconfig fragment's hash: change any of them and the
release is a new job; change none and a rerun finds the finished job.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    tree TEXT NOT NULL,
    tag TEXT NOT NULL,
    base TEXT NOT NULL,
    campaign TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    run_dir TEXT NOT NULL,
    series_url TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""
STATES = ("new", "running", "posted", "done", "failed")


@dataclass(frozen=True)
class Job:
    id: int
    dedupe_key: str
    tree: str
    tag: str
    base: str
    campaign: str
    state: str
    run_dir: Path
    series_url: str | None


class Store:
    def __init__(self, where: Path | str):
        """`where`: the SQLite file, or a postgres:// URL."""
        self.url = where if isinstance(where, str) else ""
        self.path = Path(where) if not self.url else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[Any]:
        if self.url:
            from bot.workers import database

            with database.connect(self.url) as pg:
                yield pg
            return
        assert self.path is not None
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.row_factory = sqlite3.Row
            yield db

    def job(self, key: str, *, tree: str, tag: str, base: str, campaign: str,
            runs: Path) -> Job:
        """The job for `key`, created (state new) when it is not there yet."""
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

    def update(self, job_id: int, *, state: str, series_url: str | None = None) -> None:
        assert state in STATES, state
        with self._db() as db:
            db.execute("UPDATE jobs SET state = ?, series_url = COALESCE(?, series_url),"
                       " updated = ? WHERE id = ?", (state, series_url, time.time(), job_id))

    def get(self, job_id: int) -> Job:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(f"no job {job_id} in the job store")
        return _job(row)

    def jobs(self) -> list[Job]:
        with self._db() as db:
            return [_job(r) for r in db.execute("SELECT * FROM jobs ORDER BY id")]


def _job(row: Any) -> Job:
    return Job(id=row["id"], dedupe_key=row["dedupe_key"], tree=row["tree"], tag=row["tag"],
               base=row["base"], campaign=row["campaign"], state=row["state"],
               run_dir=Path(row["run_dir"]), series_url=row["series_url"])
