"""Every message the bot ever mailed, in the data dir: what the budgets count and what loop
detection asks ("was this patch, or this Message-ID, sent before?").

    DATA_DIR/mail/ledger.sqlite3   one row per message: Message-ID (unique), patch-id of the
                                   patch it carries ('' for a cover letter), subject,
                                   recipients, run dir, state, started, finished
    DATA_DIR/mail/send.lock        one sending process at a time (flock)

A row is written (state "sending") before git send-email starts on the message and marked
"sent" after it; a message the server refused (nothing went out) has its row removed.  A
"sending" row left by a killed bot means "maybe delivered": it counts against the budgets and
is never sent again.  SQLite (stdlib) in WAL mode: readers (`cocci-bot mail status`) never
block the sender.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import CocciBotError

SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    message_id TEXT PRIMARY KEY,
    patch_id   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    recipients TEXT NOT NULL,
    run_dir    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('sending', 'sent')),
    started    REAL NOT NULL,
    finished   REAL
);
CREATE INDEX IF NOT EXISTS message_patch_id ON message (patch_id) WHERE patch_id != '';
CREATE INDEX IF NOT EXISTS message_started ON message (started);
"""


def mail_dir(data_dir: Path) -> Path:
    return data_dir / "mail"


@dataclass(frozen=True)
class Sent:
    message_id: str
    patch_id: str
    subject: str
    recipients: tuple[str, ...]
    run_dir: str
    state: str
    started: float

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.started))


class Busy(CocciBotError):
    """Another cocci-bot process is sending mail from this data dir right now."""


class Ledger:
    def __init__(self, data_dir: Path) -> None:
        self.path = mail_dir(data_dir) / "ledger.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, message_id: str, patch_id: str) -> Sent | None:
        """The message sent (or begun) with this Message-ID or carrying this patch-id."""
        row = self.db.execute(
            "SELECT * FROM message WHERE message_id = ? OR (patch_id != '' AND patch_id = ?) "
            "ORDER BY message_id = ? DESC, started LIMIT 1",
            (message_id, patch_id, message_id)).fetchone()
        return _sent(row) if row else None

    def begin(self, message_id: str, patch_id: str, subject: str, recipients: list[str],
              run_dir: Path) -> None:
        self.db.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?, 'sending', ?, NULL)",
                        (message_id, patch_id, subject, json.dumps(recipients), str(run_dir),
                         time.time()))

    def done(self, message_id: str) -> None:
        self.db.execute("UPDATE message SET state = 'sent', finished = ? WHERE message_id = ?",
                        (time.time(), message_id))

    def forget(self, message_id: str) -> None:
        """The server refused the message: nothing went out, it may be sent later."""
        self.db.execute("DELETE FROM message WHERE message_id = ?", (message_id,))

    def since(self, start: float) -> list[Sent]:
        """Messages sent or begun since `start`, oldest first (what the budgets count)."""
        rows = self.db.execute("SELECT * FROM message WHERE started >= ? ORDER BY started",
                               (start,)).fetchall()
        return [_sent(r) for r in rows]

    def of_run(self, run_dir: Path) -> list[Sent]:
        rows = self.db.execute("SELECT * FROM message WHERE run_dir = ? ORDER BY started",
                               (str(run_dir),)).fetchall()
        return [_sent(r) for r in rows]


def _sent(row: tuple[Any, ...]) -> Sent:
    mid, pid, subject, rcpts, run_dir, state, started, _finished = row
    return Sent(mid, pid, subject, tuple(json.loads(rcpts)), run_dir, state, started)


@contextlib.contextmanager
def send_lock(data_dir: Path) -> Iterator[None]:
    """One sender per data dir: the budgets are checked and spent under this lock."""
    path = mail_dir(data_dir) / "send.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("another cocci-bot process is sending mail from this data dir: the "
                       "send waits for it") from None
        yield
