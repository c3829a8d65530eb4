"""The one polling loop: jobs from the configuration, deduplicated in the store, each handed to
an executor.

    for each tree: its releases -> for each campaign: the job (store) -> due? -> executor

Two executors: `Inline` runs the job's stages in this process (one machine, the default);
the workers' executor (bot/workers/enqueue.py, registered by name as "workers") queues the
job's next stage for `cocci-bot worker`. The pipeline knows executors only through the
`Executor` protocol and the registry (bot/pipeline/executors.py); it never imports bot/workers.

Errors are per job and per tree: a job whose stage ends in ERROR is recorded (run record and
the store, with the message), retried after a back-off that doubles with each error in a row
(defaults.RETRY_BACKOFF_FIRST .. RETRY_BACKOFF_MAX, honoured by `run --watch`), and the other
jobs and trees go on. A tree that cannot be listed (a remote unreachable, apt failing) is said
in the log and asked again on the next cycle, after the same back-off.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot import defaults
from bot.apply import campaign as campaign_mod
from bot.apply import cocci, stage
from bot.errors import EXIT_INFRA, EXIT_USAGE, CocciBotError, JobBusy, UserError
from bot.pipeline import executors, reaper, scheduler, watch
from bot.pipeline.config import Config
from bot.pipeline.executors import Executor, Line
from bot.pipeline.queue import Queue
from bot.pipeline.record import RunRecord
from bot.pipeline.run import Context, run_job
from bot.pipeline.store import Job, Store, location
from bot.pipeline.watch import TreeRelease
from bot.status import Status, exit_code

log = logging.getLogger("bot.run")


def kconfig_hash(camp: campaign_mod.Campaign) -> str:
    frag = camp.root / "kernel.config"
    return hashlib.sha256(frag.read_bytes()).hexdigest() if frag.exists() else "-"


def dedupe_key(base: str, camp: campaign_mod.Campaign, spatch: str) -> str:
    """apply's key (base, campaign content, spatch) plus the kconfig the build uses."""
    return stage.dedupe_key(base, camp.content_hash(), spatch, kconfig_hash(camp))


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` errors in a row."""
    first, most = defaults.RETRY_BACKOFF_FIRST, defaults.RETRY_BACKOFF_MAX
    return float(min(most, first * 2 ** max(0, attempts - 1)))


def executor(cfg: Config, data_dir: Path, stack: contextlib.ExitStack,
             queue: Queue | None = None) -> Executor:
    """The executor bot.toml asks for: the workers' with [workers], else inline (with the
    embedded queue, or `queue`, living as long as `stack`)."""
    if cfg.workers is None:
        return Inline(cfg, data_dir, queue or stack.enter_context(Queue(cfg, data_dir)))
    return executors.make("workers", cfg, data_dir)


@dataclass
class Inline:
    """Every stage of the job, here and now (the job's lock keeps a second process out)."""

    cfg: Config
    data_dir: Path
    queue: Queue
    held_elsewhere: bool = False

    def __post_init__(self) -> None:
        reaper.mark(self.data_dir)
        reaper.reap(self.data_dir)

    @property
    def runs(self) -> Path:
        return self.data_dir / "runs"

    def submit(self, store: Store, job: Job, release: TreeRelease) -> Line | None:
        ctx = Context(job, release, job.campaign, self.cfg, self.data_dir, self.queue)
        return run_one(store, ctx)


@dataclass
class TreeErrors:
    """Trees that could not be listed, kept across the cycles of `run --watch`: the same
    back-off as jobs, so an unreachable remote is not hammered."""

    errors: dict[str, tuple[int, float]] = field(default_factory=dict)   # name: (count, next)

    def due(self, name: str) -> bool:
        _count, when = self.errors.get(name, (0, 0.0))
        return time.time() >= when

    def failed(self, name: str) -> float:
        count = self.errors.get(name, (0, 0.0))[0] + 1
        wait = backoff(count)
        self.errors[name] = (count, time.time() + wait)
        return wait

    def ok(self, name: str) -> None:
        self.errors.pop(name, None)


def run_all(cfg: Config, data_dir: Path, ex: Executor | None = None, *,
            honour_backoff: bool = False, tree_errors: TreeErrors | None = None) -> list[Line]:
    """Hand every new (release, campaign) and every unfinished one to the executor `ex`
    (default: inline, with the embedded queue living for this call); one summary line and
    exit code per job (and per tree that could not be listed)."""
    with contextlib.ExitStack() as stack:
        if ex is None:
            ex = executor(cfg, data_dir, stack)
        return _cycle(cfg, data_dir, ex, honour_backoff, tree_errors or TreeErrors())


def _cycle(cfg: Config, data_dir: Path, ex: Executor, honour_backoff: bool,
           tree_errors: TreeErrors) -> list[Line]:
    store = Store(location(cfg, data_dir))
    spatch = cocci.version()
    campaigns = {name: campaign_mod.load(name) for t in cfg.trees for name in t.campaigns}
    out: list[Line] = []
    for tree in cfg.trees:
        if honour_backoff and not tree_errors.due(tree.name):
            continue
        try:
            releases = watch.releases(tree, data_dir)
        except CocciBotError as exc:
            wait = tree_errors.failed(tree.name)
            again = f"asked again in {wait:.0f} s" if honour_backoff else "asked again next run"
            out.append((f"run: tree {tree.name}: {exc} ({again}; the other trees go on)",
                        EXIT_USAGE if isinstance(exc, UserError) else EXIT_INFRA))
            continue
        tree_errors.ok(tree.name)
        for rel in releases:
            for name in tree.campaigns:
                job = store.job(dedupe_key(rel.base, campaigns[name], spatch), tree=tree.name,
                                tag=rel.tag, base=rel.base, campaign=name, runs=ex.runs)
                why = scheduler.not_due(job, honour_backoff=honour_backoff,
                                        held_elsewhere=ex.held_elsewhere, tree=tree.name)
                if why is not None:
                    log.info("run: %s %s %s: %s (job %d)", tree.name, rel.tag, name, why, job.id)
                    continue
                line = ex.submit(store, job, rel)
                if line is not None:
                    out.append(line)
    return out


def run_one(store: Store, ctx: Context) -> Line | None:
    """One job: its stages, then its state in the store; an error stays with this job."""
    job = ctx.job
    store.update(job.id, state=Status.RUNNING)
    try:
        rec = run_job(ctx)
    except JobBusy as exc:
        log.info("run: %s", exc)
        return None
    except KeyboardInterrupt:
        store.update(job.id, state=Status.ERROR, error="interrupted: resumed on the next run")
        store.retry_at(job.id, 0)
        raise
    except CocciBotError as exc:   # outside a stage: reading the run record, the job's lock
        rec = RunRecord(job=job.id, tree=ctx.release.tree.name, tag=ctx.release.tag,
                        base=ctx.release.base, repo=str(ctx.release.repo), campaign=ctx.campaign,
                        status=Status.ERROR, error=str(exc))
    store.update(job.id, state=rec.status, series_url=rec.series_url, error=rec.error)
    if rec.status is Status.ERROR:
        again = store.get(job.id)
        attempts = again.attempts if again else 1
        store.retry_at(job.id, time.time() + backoff(attempts))
        log.warning("run: %s %s %s: ERROR (%s); try %d, next in %.0f s", ctx.release.tree.name,
                    ctx.release.tag, ctx.campaign, rec.error, attempts, backoff(attempts))
    return summary(rec, job.run_dir), exit_code(rec.status)


def summary(rec: RunRecord, run_dir: Path) -> str:
    stages = ", ".join(f"{k} {v.status}" for k, v in rec.stages.items())
    where = rec.series_url or str(run_dir)
    return f"run: {rec.tree} {rec.tag} {rec.campaign}: {stages} -> {where}"
