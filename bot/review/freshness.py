"""One value that changes whenever the queue's data does: the validator behind conditional GET
(ETag, Last-Modified, 304) and the key of the response cache (bot.review.conditional).

PostgreSQL: the transaction snapshot itself (`pg_current_snapshot()`): two reads under the same
snapshot text see the same rows, and any commit changes it. SQLite: a one-row table that
triggers on every write to a table set anew (in the writing transaction, so the change and
the new value commit together); the triggers are (re)made after every `migrate`, so that
tables added later are covered too. No value (inside a transaction, or before the first
`migrate`): nothing is cached."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

STAMP_TABLE = "cocci_changestamp"
# tables whose rows no anonymous read shows: a login does not empty the cache
UNWATCHED = frozenset({STAMP_TABLE, "django_session", "django_migrations"})
_BUMP = (f"INSERT INTO {STAMP_TABLE} (id, stamp, changed_at) "
         "VALUES (1, random(), strftime('%s', 'now')) "
         "ON CONFLICT (id) DO UPDATE SET stamp = random(), changed_at = strftime('%s', 'now')")


class Stamp:
    """The data's version: `token` for ETags and cache keys, `changed_at` (UTC, or None when
    the database does not say) for Last-Modified."""

    def __init__(self, token: str, changed_at: dt.datetime | None):
        self.token = token
        self.changed_at = changed_at


def current() -> Stamp | None:
    """None inside a transaction: its own uncommitted writes leave PostgreSQL's snapshot as it
    was (tests run in one; no view of ours does), and where nothing is cached."""
    if connection.in_atomic_block:
        return None
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_current_snapshot()::text")
            return Stamp(f"pg:{cur.fetchone()[0]}", None)
        if connection.vendor != "sqlite":
            return None
        cur.execute(f"SELECT stamp, changed_at FROM {STAMP_TABLE} WHERE id = 1")
        row = cur.fetchone()
    if row is None:
        return None
    return Stamp(f"sq:{row[0]}", dt.datetime.fromtimestamp(int(row[1]), dt.UTC))


def install(using: str = "default", **_: Any) -> None:
    """post_migrate: the stamp table and one trigger per table and write (SQLite)."""
    from django.db import connections

    conn = connections[using]
    if conn.vendor != "sqlite":
        return
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {STAMP_TABLE} (id INTEGER PRIMARY KEY, "
                    "stamp INTEGER NOT NULL, changed_at INTEGER NOT NULL)")
        for table in conn.introspection.table_names(cur):
            if table in UNWATCHED or table.startswith("sqlite_"):
                continue
            for op in ("INSERT", "UPDATE", "DELETE"):
                name = conn.ops.quote_name(f"cocci_stamp_{table}_{op.lower()}")
                cur.execute(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {op} ON "
                            f"{conn.ops.quote_name(table)} BEGIN {_BUMP}; END")
        cur.execute(_BUMP)
