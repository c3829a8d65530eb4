"""`cocci-bot post --queue URL --token TOKEN OUTDIR`: post a series and its checks.

Posting twice is safe: the queue returns the series it already has (same dedupe key) and
identical checks are not stored again. Prints the series' web URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from bot.errors import UserError

log = logging.getLogger(__name__)

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
    series = post(args.outdir, args.queue, token, args.project)
    print(series["web_url"])  # noqa: T201 - the series URL is the command's output
    return 0


def post(outdir: Path, queue: str, token: str, project: str | None = None,
         extra: dict | None = None) -> dict:
    """Post what `cocci-bot apply` (and build/boot) wrote to `outdir`; returns the series.
    `extra` adds to the payload (range_diff, site_delta, a cover with the changes since vN).
    The queue supersedes the older open versions itself: the client never asks it to."""
    from bot.post import outdir as od
    from bot.post.client import QueueClient

    if not outdir.is_dir():
        raise UserError(f"{outdir} is not a directory (expected `cocci-bot apply --out`)")
    start = time.monotonic()
    payload = od.series_payload(outdir, project)
    claims = payload["report"].get("claims") or {}
    if claims.get("status") == "FAIL":      # a message the claim check cannot prove
        first = claims["failed"][0]
        raise UserError(f"{outdir}: the series says what apply could not prove on the tree "
                        f"({first['message']}: {first['why']}: \"{first['sentence']}\"): fix "
                        "the campaign's message and run apply again")
    payload.update(extra or {})
    checks = od.checks(outdir, payload["report"])
    client = QueueClient(queue, token)
    series, created = client.post_series(payload)
    for check in checks:
        client.post_series_check(series["id"], check)
    states = ", ".join(f"{c['context']} {c['state']}" for c in checks) or "no checks"
    log.info("post: %s series %d v%d, %d patches, %s in %.1f s",
             "created" if created else "already had", series["id"], series["version"],
             len(series["patches"]), states, time.monotonic() - start)
    return series
