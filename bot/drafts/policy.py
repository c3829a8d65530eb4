"""Who may get mail from the bot, when, and how much: bot.toml's [mail] and [[mail.list]].

- Every recipient (To/Cc of the drafts) must be covered by a [[mail.list]] entry (its address,
  or a glob such as "*@example.org"); none is by default, so nothing goes out until the
  operator lists who may receive mail.  An exact address wins over a glob.
- embargo_hours: no message before that long after the bot saw the series accepted (the
  longest embargo of the recipients' entries applies).
- daily_limit: messages in the last 24 hours, all lists together ([mail]) and per entry
  ([[mail.list]]); a series goes out whole or waits for room, and says until when.
- replies = "author": the mails carry Reply-To: the series' author, so answers go to the
  person who signed the series off and not back to the bot.

Each check returns None (go) or a Hold: why the send waits and until when, if known.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import Any

from bot import defaults
from bot.drafts.ledger import Ledger, Sent


@dataclass(frozen=True)
class Hold:
    why: str
    until: float | None = None   # the earliest time the send may go (None: not by waiting)

    @property
    def text(self) -> str:
        if self.until is None:
            return self.why
        return f"{self.why}; next try after {utc(self.until)}"


def utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def entry_for(mail: Any, address: str) -> Any | None:
    """The [[mail.list]] entry that covers `address`: its exact address, else a glob."""
    address = address.strip().lower()
    exact = [e for e in mail.lists if e.address == address]
    if exact:
        return exact[0]
    return next((e for e in mail.lists if fnmatch.fnmatchcase(address, e.address)), None)


def uncovered(mail: Any, to: list[str]) -> Hold | None:
    missing = [a for a in to if entry_for(mail, a) is None]
    if not missing:
        return None
    return Hold(f"no [[mail.list]] in bot.toml covers {', '.join(missing)}: the bot mails "
                "only the addresses listed there (add an entry, e.g. address = "
                f"\"{missing[0]}\", or a glob)")


def embargo(mail: Any, to: list[str], approved_at: float, now: float) -> Hold | None:
    entries = [entry_for(mail, a) for a in to]
    hours = max((e.embargo_hours for e in entries if e is not None), default=0.0)
    until = approved_at + hours * 3600
    if now >= until:
        return None
    return Hold(f"embargo: {hours:g} h between approval ({utc(approved_at)}) and sending",
                until)


def budget(mail: Any, ledger: Ledger, to: list[str], count: int, now: float) -> Hold | None:
    """Room for `count` more messages to `to` in the last 24 hours, globally and per entry."""
    start = now - defaults.MAIL_WINDOW
    recent = ledger.since(start)
    hold = _room(recent, count, mail.daily_limit, "[mail] daily_limit", "all lists together")
    if hold is not None:
        return hold
    for entry in {id(e): e for e in (entry_for(mail, a) for a in to) if e is not None}.values():
        to_it = [m for m in recent if any(_covers(entry, mail, r) for r in m.recipients)]
        hold = _room(to_it, count, entry.daily_limit,
                     f"[[mail.list]] {entry.address!r} daily_limit", f"to {entry.address}")
        if hold is not None:
            return hold
    return None


def _covers(entry: Any, mail: Any, address: str) -> bool:
    return entry_for(mail, address) is entry


def _room(recent: list[Sent], count: int, limit: int, key: str, scope: str) -> Hold | None:
    if len(recent) + count <= limit:
        return None
    if count > limit:
        return Hold(f"the series has {count} mails, more than {key} = {limit} allows in a "
                    "day: raise it to send this series")
    # room appears when enough of the oldest messages leave the 24-hour window
    freeing = recent[len(recent) + count - limit - 1]
    return Hold(f"daily budget: {len(recent)} of {limit} mails sent {scope} in the last 24 h, "
                f"this series needs {count} ({key})", freeing.started + defaults.MAIL_WINDOW)


def reply_to(mail: Any, to: list[str], author: str | None) -> str | None:
    """Reply-To for the mails: the author, when an entry of the recipients asks for it."""
    if not author:
        return None
    entries = [entry_for(mail, a) for a in to]
    return author if any(e is not None and e.replies == "author" for e in entries) else None
