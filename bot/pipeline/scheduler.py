"""The scheduler: a job's next stage, and whether a stage may be skipped, in one place.

Both executors ask it: the inline runner (bot/pipeline/runner.py) before it runs a stage, the
workers (bot/workers) before they run one and to choose what to queue next. It reads the run
record only (bot/pipeline/record.py), including the run's options, so a stage decided on one
host is decided the same way on any other.

    apply -> build -> boot -> post -> drafts -> mail

A stage with a final result (PASS, FAIL, SKIPPED) never runs again; the job's next stage is the
first without one; the job's status is that stage's (or the worst final one once all are).
"""

from __future__ import annotations

import time

from bot.pipeline.record import RunRecord
from bot.pipeline.store import Job
from bot.status import Status

STAGES = ("apply", "build", "boot", "post", "drafts", "mail")


def next_stage(record: RunRecord | None) -> str | None:
    """The first stage without a final result (drafts waiting counts as none); None: finished."""
    stages = record.stages if record is not None else {}
    for stage in STAGES:
        rec = stages.get(stage)
        if rec is None or not rec.final:
            return stage
    return None


def job_status(record: RunRecord) -> tuple[Status, str | None]:
    """The job's status from its stages: the first one without a final result decides."""
    stages = record.stages
    for stage in STAGES:
        rec = stages.get(stage)
        if rec is None:
            return (Status.RUNNING if stages else Status.PENDING), None
        if not rec.final:
            return rec.status, (f"{stage}: {rec.error}" if rec.error else None)
    failed = [s for s in STAGES if stages[s].status is Status.FAIL]
    if failed:
        return Status.FAIL, f"{failed[0]}: {stages[failed[0]].why or 'failed'}"
    if getattr(stages["post"], "policy", None):     # the tree's `post` setting kept it back
        return Status.SKIPPED, f"post: {stages['post'].why}"
    return Status.PASS, None


def applied(record: RunRecord) -> bool:
    """apply made a series (PASS, and something left to do)."""
    apply = record.apply
    return apply is not None and apply.status is Status.PASS and not apply.nothing_to_do


def skip(record: RunRecord, stage: str) -> str | None:
    """Why `stage` is skipped without running, from the record alone; None: it must run."""
    if stage == "build":
        if not applied(record):
            return "nothing to build"
        return None if record.options.build else "disabled in the configuration"
    if stage == "boot":
        if not record.passed("build"):
            return "no patched kernel to boot"
        return None if record.options.boot else "disabled in the configuration"
    if stage == "post":
        apply = record.apply
        absorbed = apply is not None and apply.status is Status.PASS and apply.nothing_to_do
        return None if applied(record) or absorbed else "no series to post"
    if stage == "drafts":
        return None if record.passed("post") else "nothing was posted"
    if stage == "mail":
        return None if record.passed("drafts") else "no drafts"
    return None


def light(record: RunRecord, stage: str) -> bool:
    """`stage` does no work on a tree: it records a skip, or (post with nothing left to do)
    marks the older version in the queue. A worker runs such a stage itself rather than
    queue it where no worker may serve it."""
    if skip(record, stage) is not None:
        return True
    return stage == "post" and not applied(record)


def not_due(job: Job, *, honour_backoff: bool, held_elsewhere: bool, tree: str | None = None,
            now: float | None = None) -> str | None:
    """Why the loop leaves `job` alone this cycle; None: hand it to the executor.

    Finished jobs stay finished; a job in ERROR waits for its back-off (with `run --watch`);
    with workers, a RUNNING job is a worker's (or queued for one). A job found again through
    another `tree` (two trees holding the same commit) is the first tree's: run and posted
    there, once (docs/operations.md)."""
    now = time.time() if now is None else now
    if tree is not None and job.tree != tree:
        return f"the same commit as tree {job.tree}'s job: run and posted there"
    if job.state.final:
        return "already done"
    if held_elsewhere and job.state is Status.RUNNING:
        return "being worked on by the workers"
    wait = job.next_try - now
    if honour_backoff and job.state is Status.ERROR and wait > 0:
        return f"error {job.attempts} in a row ({job.error}); next try in {wait:.0f} s"
    return None
