"""The emergency brake: while it is pulled, the bot sends no mail at all.

Two switches, either one stops every send: the operator's, in the data dir
(`cocci-bot mail stop --reason ...` / `cocci-bot mail resume`: DATA_DIR/mail/stop.json), and
the review queue's, which an admin maintainer pulls on the queue's "Mail" page (kept in the
queue's database, read over its API).  Both survive restarts.  The bot asks both before every
single message; a queue that cannot say counts as pulled (fail closed).
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import jsonfile
from bot.drafts.ledger import mail_dir
from bot.errors import CocciBotError

STOP_JSON = "stop.json"


def path(data_dir: Path) -> Path:
    return mail_dir(data_dir) / STOP_JSON


def pull(data_dir: Path, reason: str, by: str | None = None) -> dict[str, Any]:
    record = {"stopped": True, "by": by or getpass.getuser(), "at": time.time(),
              "reason": reason}
    jsonfile.write(path(data_dir), record)
    return record


def lift(data_dir: Path) -> bool:
    """Release the operator's switch; False when it was not pulled."""
    try:
        path(data_dir).unlink()
    except FileNotFoundError:
        return False
    return True


def read(data_dir: Path) -> dict[str, Any] | None:
    """The operator's switch, when pulled. An unreadable file counts as pulled."""
    try:
        data: dict[str, Any] = json.loads(path(data_dir).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"stopped": True, "by": "?", "at": 0.0, "reason": f"{path(data_dir)} is "
                f"unreadable ({exc}): remove it with `cocci-bot mail resume`"}
    return data


def describe(record: dict[str, Any], where: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(record.get("at") or 0)))
    return (f"mail is stopped ({where}) by {record.get('by') or '?'} at {when}: "
            f"{record.get('reason') or 'no reason given'}")


def why_stopped(data_dir: Path, queue_switch: Callable[[], dict[str, Any]] | None) -> str | None:
    """Why no mail may go out now, or None: the operator's switch, then the queue's."""
    mine = read(data_dir)
    if mine is not None:
        return describe(mine, "operator switch; `cocci-bot mail resume` lifts it")
    if queue_switch is None:
        return None
    try:
        theirs = queue_switch()
    except (CocciBotError, OSError, ValueError) as exc:   # fail closed: cannot ask = stop
        return (f"mail is held: the review queue's stop switch could not be read ({exc}); "
                "nothing is sent until it can")
    if theirs.get("stopped"):
        return describe(theirs, "review queue; an admin lifts it on the queue's Mail page")
    return None
