"""`cocci-bot status`: every job from the job store (the data dir's SQLite file, or the
[workers] database the watcher and the workers share), with what its run.json says."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bot import progress
from bot.errors import CocciBotError
from bot.pipeline import record
from bot.pipeline.record import StageResult
from bot.pipeline.scheduler import STAGES
from bot.pipeline.store import Job, Store, describe
from bot.status import Status


def jobs(where: str | Path) -> list[dict[str, Any]]:
    """One record per job, oldest first, from the job store `where` (store.location: the
    [workers] database's PostgreSQL URL, or the data dir's SQLite file). No SQLite file is
    created when the bot never ran here."""
    if isinstance(where, Path) and not where.exists():
        return []
    return [job_record(job) for job in Store(where).jobs()]


def job_record(job: Job) -> dict[str, Any]:
    """What `cocci-bot status` says of a job: the store's row and its run record."""
    unreadable: str | None = None
    try:
        rec = record.read(job.run_dir)
    except CocciBotError as exc:   # a record it cannot read: said, the other jobs go on
        rec, unreadable = None, str(exc)
    stages = rec.stages if rec is not None else {}
    drafts = stages.get("drafts")
    waiting = [v.why for v in stages.values() if v.status is Status.WAITING]
    reason = job.error or (rec.error if rec else unreadable) or (waiting[0] if waiting else None)
    return {
        "job": job.id, "tree": job.tree, "release": job.tag, "base": job.base,
        "campaign": job.campaign, "status": job.state,
        "stages": {s: stages[s].status for s in STAGES if s in stages},
        "reason": reason,
        "attempts": job.attempts,
        "next_try": job.next_try if job.state is Status.ERROR and job.next_try else None,
        "series_url": job.series_url or (rec.series_url if rec else None),
        "drafts": getattr(drafts, "drafts", None)
        if drafts is not None and drafts.status is Status.PASS else None,
        "run_dir": str(job.run_dir),
        "progress": running_progress(job, stages),
    }


def running_progress(job: Job, stages: dict[str, StageResult]) -> str | None:
    """The latest progress line of the job's running stage (bot/progress.py), if it has one."""
    running = [s for s in STAGES if s in stages and stages[s].status is Status.RUNNING]
    return progress.read(job.run_dir / running[0] / progress.FILE) if running else None


def render(records: list[dict[str, Any]], store: str | Path) -> str:
    if not records:
        return f"no jobs in {describe(store)} yet: `cocci-bot run` starts them"
    lines = []
    for r in records:
        stages = ", ".join(f"{k} {v}" for k, v in r["stages"].items()) or "not started"
        lines.append(f"job {r['job']}: {r['tree']} {r['release']} {r['campaign']}: "
                     f"{r['status']} ({stages})")
        if r.get("progress"):
            lines.append(f"    now: {r['progress']}")
        if r["reason"]:
            lines.append(f"    why: {r['reason']}")
        if r["next_try"]:
            lines.append(f"    error {r['attempts']} in a row; next try in "
                         f"{max(0, r['next_try'] - time.time()):.0f} s")
        lines.append(f"    series: {r['series_url'] or 'not posted'}")
        lines.append(f"    drafts: {r['drafts'] or 'none yet'}")
        lines.append(f"    run: {r['run_dir']}")
    return "\n".join(lines)
