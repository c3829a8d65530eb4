"""`cocci-bot run` with [workers] broker: the watcher queues each job's next stage instead of
running it. Jobs and their dedupe keys are the same as inline; a job being worked on (state
running) is left alone, a failed one is queued again (as inline runs retry it)."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.apply import campaign as campaign_mod
from bot.apply import cocci
from bot.errors import EXIT_OK
from bot.pipeline import runner, watch
from bot.pipeline.config import Config
from bot.pipeline.store import Job, Store
from bot.workers import app as celery_app
from bot.workers import stages
from bot.workers.worker import load

log = logging.getLogger("bot.run")


def run_all(cfg: Config, data_dir: Path) -> list[tuple[str, int]]:
    """Queue every new or unfinished (release, campaign); one summary line per job queued."""
    assert cfg.workers is not None and cfg.source is not None
    load(cfg.source)   # the same checks as the workers: a shared queue URL
    store = Store(stages.store_location(cfg, data_dir))
    app = celery_app.make(cfg.workers)
    spatch = cocci.version()
    campaigns = {name: campaign_mod.load(name) for t in cfg.trees for name in t.campaigns}
    out: list[tuple[str, int]] = []
    for tree in cfg.trees:
        for rel in watch.releases(tree, data_dir):
            for name in tree.campaigns:
                job = store.job(runner.dedupe_key(rel.base, campaigns[name], spatch),
                                tree=tree.name, tag=rel.tag, base=rel.base, campaign=name,
                                runs=stages.run_root(cfg, data_dir))
                line = enqueue(app, store, job)
                if line:
                    out.append((line, EXIT_OK))
    return out


def enqueue(app, store: Store, job: Job) -> str | None:
    """Queue the job's next stage; None when there is nothing to queue."""
    if job.state in ("done", "running"):
        log.info("run: %s %s %s %s (job %d)", job.tree, job.tag, job.campaign,
                 "already done" if job.state == "done" else "being worked on", job.id)
        return None
    stage = stages.next_stage(stages.read_state(job.run_dir))
    if stage is None:
        state = stages.read_state(job.run_dir) or {"stages": {}}
        store.update(job.id, state=runner.job_state(state, runner.verdict(state)))
        return None
    store.update(job.id, state="running")
    try:
        celery_app.send(app, job.id, stage)
    except Exception:
        store.update(job.id, state=job.state)   # not queued: the next cycle tries again
        raise
    return f"run: {job.tree} {job.tag} {job.campaign}: queued {stage} (job {job.id})"
