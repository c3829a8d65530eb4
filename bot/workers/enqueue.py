"""`cocci-bot run` with [workers] broker: the watcher queues each job's next stage instead of
running it. Jobs and their dedupe keys are the same as inline; a job being worked on (state
RUNNING) is left alone, one in ERROR is queued again after its back-off (as inline)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import kombu.exceptions
import redis.exceptions

from bot.apply import campaign as campaign_mod
from bot.apply import cocci
from bot.errors import EXIT_INFRA, EXIT_OK, CocciBotError, InfraError
from bot.pipeline import runner, watch
from bot.pipeline.config import Config
from bot.pipeline.store import Job, Store, location
from bot.status import Status
from bot.workers import app as celery_app
from bot.workers import stages
from bot.workers.worker import load

log = logging.getLogger("bot.run")

# What sending a stage can raise: Celery's send_task turns the Redis transport's connection and
# channel errors (redis errors, OSError) into kombu's OperationalError; the two others stand for
# what comes before that wrapping (the producer's connection from the pool).
SEND_ERRORS = (kombu.exceptions.OperationalError, redis.exceptions.RedisError, OSError)


def run_all(cfg: Config, data_dir: Path, *, honour_backoff: bool = False
            ) -> list[tuple[str, int]]:
    """Queue every new or unfinished (release, campaign); one summary line per job queued."""
    assert cfg.workers is not None and cfg.source is not None
    load(cfg.source)   # the same checks as the workers: a shared queue URL
    store = Store(location(cfg, data_dir))
    app = celery_app.make(cfg.workers)
    spatch = cocci.version()
    campaigns = {name: campaign_mod.load(name) for t in cfg.trees for name in t.campaigns}
    out: list[tuple[str, int]] = []
    for tree in cfg.trees:
        try:
            releases = watch.releases(tree, data_dir)
        except CocciBotError as exc:
            out.append((f"run: tree {tree.name}: {exc} (asked again next time; the other trees "
                        "go on)", EXIT_INFRA if exc.exit_code != 2 else exc.exit_code))
            continue
        for rel in releases:
            for name in tree.campaigns:
                job = store.job(runner.dedupe_key(rel.base, campaigns[name], spatch),
                                tree=tree.name, tag=rel.tag, base=rel.base, campaign=name,
                                runs=stages.run_root(cfg, data_dir))
                if _due(job, honour_backoff):
                    out.append((enqueue(app, store, job), EXIT_OK))
    return out


def _due(job: Job, honour_backoff: bool) -> bool:
    what = f"run: {job.tree} {job.tag} {job.campaign} (job {job.id})"
    if job.state.final:
        log.info("%s: already done", what)
        return False
    if job.state is Status.RUNNING:
        log.info("%s: being worked on by the workers", what)
        return False
    if honour_backoff and job.state is Status.ERROR and job.next_try > time.time():
        log.info("%s: error %d in a row (%s); next try in %.0f s", what, job.attempts,
                 job.error, job.next_try - time.time())
        return False
    return True


def enqueue(app, store: Store, job: Job) -> str:
    """Queue the job's next stage (RUNNING in the store from now until a worker records it)."""
    stage = stages.next_stage(stages.read_state(job.run_dir)) or "drafts"
    store.update(job.id, state=Status.RUNNING)
    try:
        celery_app.send(app, job.id, stage)
    except SEND_ERRORS as exc:
        store.update(job.id, state=Status.PENDING)   # not queued: the next cycle tries again
        raise InfraError(f"the broker did not take job {job.id}'s {stage} stage: {exc} "
                         "(is Redis up at [workers] broker? the next cycle tries again)") from exc
    return f"run: {job.tree} {job.tag} {job.campaign}: queued {stage} (job {job.id})"
