"""Post what `cocci-bot apply` (and build/boot) wrote to a run directory: the series and its
checks, to the review queue (the library function behind `cocci-bot post` and the pipeline's
post stage)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from bot.errors import UserError
from bot.post import outdir as od
from bot.post.client import QueueClient

log = logging.getLogger("bot.post")


def post(outdir: Path, queue: str, token: str, project: str | None = None,
         extra: dict | None = None) -> dict:
    """Post what `cocci-bot apply` (and build/boot) wrote to `outdir`; returns the series.
    `extra` adds to the payload (range_diff, site_delta, a cover with the changes since vN).
    The queue supersedes the older open versions itself: the client never asks it to."""
    if not outdir.is_dir():
        raise UserError(f"{outdir} is not a directory (expected `cocci-bot apply --out`)")
    start = time.monotonic()
    payload = od.series_payload(outdir, project)
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
