"""`cocci-bot mail stop|resume|status`: the operator's brake on the bot's mail.

    cocci-bot mail stop --reason "mails loop on kvm@"   no message goes out from now on
    cocci-bot mail resume                                 lift the operator's stop
    cocci-bot mail status [--config bot.toml] [--json]   stops, budgets spent, last mails

The stop is kept in the data dir (it survives restarts) and is asked before every message;
a send in progress stops before its next message.  The review queue has a stop of its own,
pulled by an admin maintainer on its Mail page; either one stops all mail.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bot.errors import EXIT_OK, UserError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("mail", help="stop, resume or inspect the bot's mail",
                       description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    stop = actions.add_parser("stop", parents=[common], help="stop every send, now and "
                              "after restarts")
    stop.add_argument("--reason", required=True, help="why (shown by status and the queue)")
    stop.set_defaults(func=run_stop)
    resume = actions.add_parser("resume", parents=[common], help="lift the operator's stop")
    resume.set_defaults(func=run_resume)
    status = actions.add_parser("status", parents=[common],
                                help="the stops and the budgets spent in the last 24 h")
    status.add_argument("--config", type=Path, default=None,
                        help="bot.toml (its [mail] limits; default: embedded)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=run_status)


def run_stop(args: argparse.Namespace) -> int:
    from bot.drafts import killswitch

    if not args.reason.strip():
        raise UserError("--reason must say why mail stops, e.g. --reason \"mail loop on kvm@\"")
    record = killswitch.pull(args.data_dir, args.reason.strip())
    print(killswitch.describe(record, "operator switch; `cocci-bot mail resume` lifts it"))  # noqa: T201
    return EXIT_OK


def run_resume(args: argparse.Namespace) -> int:
    from bot.drafts import killswitch

    lifted = killswitch.lift(args.data_dir)
    print("mail resumed: the operator's stop is lifted" if lifted  # noqa: T201
          else "the operator's stop was not pulled: nothing to do")
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    report = status(args.data_dir, args.config)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(render(report) + "\n")
    return EXIT_OK


def status(data_dir: Path, config_path: Path | None) -> dict[str, Any]:
    """The operator's stop, and the messages of the last 24 hours against each budget."""
    from bot import defaults
    from bot.drafts import killswitch, policy
    from bot.drafts.ledger import Ledger, mail_dir
    from bot.pipeline import config

    mail = config.load(config_path).mail
    stop = killswitch.read(data_dir)
    recent = []
    if (mail_dir(data_dir) / "ledger.sqlite3").exists():
        with Ledger(data_dir) as ledger:
            recent = ledger.since(time.time() - defaults.MAIL_WINDOW)
    lists = [{"address": e.address, "limit": e.daily_limit, "embargo_hours": e.embargo_hours,
              "replies": e.replies,
              "sent": sum(1 for m in recent
                          if any(policy.entry_for(mail, r) is e for r in m.recipients))}
             for e in mail.lists]
    return {"send": mail.send, "stopped": stop, "sent_24h": len(recent),
            "daily_limit": mail.daily_limit, "lists": lists,
            "last": [{"message_id": m.message_id, "subject": m.subject, "at": m.when,
                      "state": m.state} for m in recent[-5:]]}


def render(report: dict[str, Any]) -> str:
    from bot.drafts import killswitch

    stop = report["stopped"]
    lines = [("sending: on" if report["send"] else "sending: off ([mail] send = false)"),
             ("stop: " + killswitch.describe(stop, "operator switch") if stop
              else "stop: not pulled here (the review queue's Mail page has its own)"),
             f"last 24 h: {report['sent_24h']} of {report['daily_limit']} mails"]
    lines += [f"  {e['address']}: {e['sent']} of {e['limit']} (embargo {e['embargo_hours']:g} h, "
              f"replies to {e['replies']})" for e in report["lists"]]
    if not report["lists"]:
        lines.append("  no [[mail.list]]: the bot may mail nobody")
    lines += [f"  {m['at']} {m['state']} {m['message_id']} {m['subject']}"
              for m in report["last"]]
    return "\n".join(lines)
