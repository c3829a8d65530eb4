"""The workers' executor: `cocci-bot run` with [workers] broker queues each due job's next
stage for `cocci-bot worker` instead of running it (bot/pipeline/runner.py's loop decides
which jobs are due; the scheduler decides the stage).

The run's options (--no-build, --no-boot) go into the job's run record before its stage is
queued, so the workers decide the job's skips as the run asked (the run dir is shared).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import kombu.exceptions
import redis.exceptions

from bot.errors import EXIT_OK, BrokerUnreachable, InfraError
from bot.pipeline import record, scheduler
from bot.pipeline.config import Config
from bot.pipeline.executors import Line
from bot.pipeline.run import Context, open_record
from bot.pipeline.store import Job, Store
from bot.pipeline.watch import TreeRelease
from bot.status import Status
from bot.workers import app as celery_app
from bot.workers import stages
from bot.workers.worker import load

log = logging.getLogger("bot.run")

# What sending a stage can raise: Celery's send_task turns the Redis transport's connection and
# channel errors (redis errors, OSError) into kombu's OperationalError; the two others stand for
# what comes before that wrapping (the producer's connection from the pool).
SEND_ERRORS = (kombu.exceptions.OperationalError, redis.exceptions.RedisError, OSError)


class Enqueuer:
    """runner.Executor: hand the job's next stage to the workers."""

    held_elsewhere = True   # a RUNNING job is queued or being run by a worker

    def __init__(self, cfg: Config, data_dir: Path):
        assert cfg.workers is not None and cfg.source is not None
        load(cfg.source)   # the same checks as the workers: a shared queue URL
        self.cfg, self.data_dir = cfg, data_dir
        self.runs = stages.run_root(cfg, data_dir)
        self.app = celery_app.make(cfg.workers)

    def submit(self, store: Store, job: Job, release: TreeRelease) -> Line | None:
        ctx = Context(job, release, job.campaign, self.cfg, self.data_dir, _no_queue)
        open_record(ctx, options=ctx.options)   # the run's options travel with the job
        return enqueue(self.app, store, job), EXIT_OK


def _no_queue() -> tuple[str, str]:
    raise InfraError("the watcher posts nothing with [workers]: the workers do")


def enqueue(app: Any, store: Store, job: Job) -> str:
    """Queue the job's next stage (RUNNING in the store from now until a worker records it)."""
    stage = scheduler.next_stage(record.read(job.run_dir)) or "drafts"
    store.update(job.id, state=Status.RUNNING)
    try:
        celery_app.send(app, job.id, stage)
    except SEND_ERRORS as exc:
        store.update(job.id, state=Status.PENDING)   # not queued: the next cycle tries again
        raise BrokerUnreachable(f"the broker did not take job {job.id}'s {stage} stage: {exc} "
                         "(is Redis up at [workers] broker? the next cycle tries again)") from exc
    return f"run: {job.tree} {job.tag} {job.campaign}: queued {stage} (job {job.id})"
