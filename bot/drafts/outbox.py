"""The mail stage's rules in order, around bot.drafts.send: what may go out now, or why not.

    kill switch -> recipients listed -> loop (ledger) -> embargo -> budgets -> target tree
      -> send, one message at a time (the kill switch asked again before each)

A rule that says "not now" makes the stage WAITING with the reason (shown by `status` and as
the series' `mail` check in the queue), and the next run asks again; a loop (a Message-ID or
patch sent before) and a send cut by a kill -9 are FAIL: never sent, whatever happens next.
Everything is decided under the data dir's send lock, so two bots cannot spend one budget.

The embargo counts from the approval's date in the queue (its series JSON: approved_by.date),
or, from a queue that does not say, from the first time the mail stage saw the series
accepted (RUN_DIR/mail-wait.json).  The series must still be accepted when the mail goes:
a maintainer who changes their mind during the embargo stops it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import jsonfile
from bot.drafts import killswitch, policy, send, target
from bot.drafts.ledger import Busy, Ledger, send_lock
from bot.status import Status

WAIT_JSON = "mail-wait.json"


@dataclass(frozen=True)
class Outgoing:
    """One series' drafts, and where they are for."""

    run_dir: Path
    files: list[Path]          # the cover letter first
    repo: Path                 # the tree's repository (for the target check)
    tree: str
    base: str
    target: Any | None         # [tree.target], or None


def deliver(out: Outgoing, mail: Any, data_dir: Path,
            queue_switch: Callable[[], dict[str, Any]] | None,
            approved_at: float | None = None) -> dict[str, Any]:
    """The mail stage's result: PASS (sent), WAITING (why and until when), FAIL (never).
    `approved_at`: when the queue says the series was accepted (None: the first time this
    stage saw it accepted)."""
    first_seen = _approved_at(out.run_dir)
    approved_at = first_seen if approved_at is None else approved_at
    try:
        with send_lock(data_dir), Ledger(data_dir) as ledger:
            return _deliver(out, mail, data_dir, queue_switch, ledger, approved_at)
    except Busy as exc:
        return _waiting(policy.Hold(str(exc)))


def _deliver(out: Outgoing, mail: Any, data_dir: Path,
             queue_switch: Callable[[], dict[str, Any]] | None, ledger: Ledger,
             approved_at: float) -> dict[str, Any]:
    def stop() -> str | None:
        return killswitch.why_stopped(data_dir, queue_switch)

    stopped = stop()
    if stopped is not None:
        return _waiting(policy.Hold(stopped))
    looped = send.loop(ledger, out.run_dir, out.files)
    if looped is not None:
        return _result(looped)
    to = send.addresses(out.files)
    begun = ledger.of_run(out.run_dir)   # a series resumed: its budget was spent at its start
    now = time.time()
    hold = (policy.uncovered(mail, to) or policy.embargo(mail, to, approved_at, now)
            or (None if begun else policy.budget(mail, ledger, to, len(out.files), now)))
    if hold is None and not begun and out.target is not None:
        hold = target.check(out.repo, out.tree, out.target, out.base, out.files)
    if hold is not None:
        return _waiting(hold)
    record = send.send_once(out.run_dir, out.files, mail, ledger, stop=stop,
                            reply_to=policy.reply_to(mail, to, send.header(out.files[0],
                                                                            "From")))
    return _result(record)


def _result(record: dict[str, Any]) -> dict[str, Any]:
    state = record["state"]
    sent = record.get("sent") or (record["message_ids"] if state == "sent" else [])
    base = {"message_ids": record["message_ids"], "sent": sent,
            "to": record.get("to", []), "mail_state": state}
    if state == "sent":
        return {"status": Status.PASS, **base}
    if state == "held":
        return {"status": Status.WAITING, "why": record["why"], **base}
    return {"status": Status.FAIL, "why": record["why"], **base}


def approval(series: dict[str, Any], decided_against: tuple[str, ...]
             ) -> tuple[float | None, dict[str, Any] | None]:
    """From the queue's series JSON: when it was accepted (None when the queue does not say),
    and the stage's result when the approval was withdrawn since the drafts were written
    (a state in `decided_against`: SKIPPED, never sent; back to new or under review:
    WAITING)."""
    decision = series.get("state", "new")
    if decision != "accepted":
        why = (f"series is {decision!r} in the queue: its approval was withdrawn after the "
               "drafts were written")
        if decision in decided_against:
            return None, {"status": Status.SKIPPED, "why": why + "; nothing is sent"}
        return None, {"status": Status.WAITING, "why": why + "; mail waits until it is "
                      "accepted again"}
    date = (series.get("approved_by") or {}).get("date")
    try:
        return datetime.fromisoformat(str(date)).replace(tzinfo=UTC).timestamp(), None
    except ValueError:   # an older queue: no approval date
        return None, None


def _waiting(hold: policy.Hold) -> dict[str, Any]:
    return {"status": Status.WAITING, "why": hold.text, "until": hold.until}


def _wait_state(run_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((run_dir / WAIT_JSON).read_text())
    except (OSError, ValueError):
        return {}
    return data


def _approved_at(run_dir: Path) -> float:
    data = _wait_state(run_dir)
    if "approved_seen" not in data:
        data["approved_seen"] = time.time()
        jsonfile.write(run_dir / WAIT_JSON, data)
    return float(data["approved_seen"])


def announced(run_dir: Path, check: dict[str, Any]) -> bool:
    """Whether the queue already has this `mail` check (the last one posted)."""
    return _wait_state(run_dir).get("announced") == check


def mark_announced(run_dir: Path, check: dict[str, Any]) -> None:
    data = _wait_state(run_dir)
    jsonfile.write(run_dir / WAIT_JSON, {**data, "announced": check})
