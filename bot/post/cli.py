"""`cocci-bot post --queue URL --token TOKEN OUTDIR`: post a series and its checks.

Posting twice is safe: the queue returns the series it already has (same dedupe key) and
identical checks are not stored again. Prints the series' web URL.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bot.errors import UserError

TOKEN_ENV = "COCCI_BOT_QUEUE_TOKEN"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("post", parents=[common], help="post a series to the review queue",
                       description=__doc__)
    p.add_argument("--queue", required=True, help="the review queue's URL (http://host:port)")
    p.add_argument("--token", default=None, help=f"a bot API token (default: ${TOKEN_ENV})")
    p.add_argument("--project", default=None,
                   help="the queue's project (default: report.json's `tree`)")
    p.add_argument("outdir", type=Path, help="the directory `cocci-bot apply --out` wrote")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        raise UserError(f"no API token: pass --token or set {TOKEN_ENV}")
    from bot.post.publish import post  # the library, loaded when the subcommand runs

    series = post(args.outdir, args.queue, token, args.project)
    print(series["web_url"])  # noqa: T201 - the series URL is the command's output
    return 0
