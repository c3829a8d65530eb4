"""Locks held in the shared store, so two workers never run one job's stage, or two builds in one
work dir, at the same time.

PostgreSQL job store: session advisory locks on a connection of their own. SQLite job store
(every worker on one host): flock on a file beside the database. Either way the lock dies with
its holder: a SIGKILLed worker's connection closes, its file descriptor too, so no lock is
ever left stale and nothing has to expire.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from bot import defaults
from bot.pipeline import database

log = logging.getLogger("bot.workers")


def lock_id(name: str) -> int:
    """A signed 64-bit id for `name` (PostgreSQL advisory lock keys are bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def held(store: str | Path, name: str) -> Iterator[None]:
    """Hold the lock `name` in `store` (postgres URL or SQLite path) for the block; waits."""
    inner = _pg(store, name) if isinstance(store, str) else _flock(Path(store), name)
    with inner:
        yield


@contextlib.contextmanager
def _pg(url: str, name: str) -> Iterator[None]:
    conn = database.open_session(url)
    key = lock_id(name)
    try:
        _wait(name, lambda: bool(conn.execute("SELECT pg_try_advisory_lock(%s)",
                                              (key,)).fetchone()[0]))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()


@contextlib.contextmanager
def _flock(db: Path, name: str) -> Iterator[None]:
    folder = db.parent / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _wait(name, lambda: _try_flock(fd))
        os.ftruncate(fd, 0)
        os.write(fd, f"{name}\n".encode())
        yield
    finally:
        os.close(fd)   # releases the flock


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait(name: str, attempt) -> None:
    said = False
    while not attempt():
        if not said:
            log.info("worker: waiting for lock %s (another worker holds it)", name)
            said = True
        time.sleep(defaults.WORKER_LOCK_POLL)
