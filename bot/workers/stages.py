"""One stage of one job, as a worker runs it: under the job's lock, only if it is the job's next
stage, then the next stage is queued.

The job's next stage (bot/pipeline/scheduler.py, from the run record in the shared run dir) is
the first without a final result, so a stage delivered twice runs once: the copy finds its
stage recorded and does nothing, posting included. While a stage runs, its worker beats in the
job store (bot/workers/heartbeat.py): a worker that dies mid-stage, or after recording a stage
and before queuing the next, stops beating, and a live worker queues the job's stage again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from bot import git
from bot.apply.stage import branch_name
from bot.build import tree as build_tree
from bot.errors import CocciBotError, InfraError, TreeUnavailable, UserError
from bot.mirror import stage as mirror_stage
from bot.mirror.versions import parse_request
from bot.pipeline import record, runner, scheduler, watch
from bot.pipeline import run as pipeline
from bot.pipeline.config import Config, Tree
from bot.pipeline.queue import Queue
from bot.pipeline.record import StageResult
from bot.pipeline.store import Job, Store, describe, location
from bot.status import Status
from bot.workers import heartbeat, locks

log = logging.getLogger("bot.workers")

# stage -> Celery queue: a host serves the queues it can (build on big hosts, boot with KVM)
QUEUE_OF = {"apply": "apply", "build": "build", "boot": "boot", "post": "post", "drafts": "post",
            "mail": "post"}
Send = Callable[[int, str], None]


@dataclass(frozen=True)
class Worker:
    """What a worker process runs stages with: its bot.toml and its (per host) data dir."""
    cfg: Config
    data_dir: Path

    @property
    def store_location(self) -> str | Path:
        """[workers] database, else the data dir's SQLite file (bot/pipeline/store.location)."""
        return location(self.cfg, self.data_dir)


def run_root(cfg: Config, data_dir: Path) -> Path:
    """Where jobs' run dirs go: [workers] run_dir (shared by every worker), else DATA_DIR/runs."""
    return (cfg.workers.run_dir if cfg.workers else None) or data_dir / "runs"


def run_stage(w: Worker, job_id: int, stage: str, *, redelivered: bool, send: Send) -> str:
    """Run `stage` of job `job_id` if it is the job's next one; returns what happened."""
    store = Store(w.store_location)
    job = store.get(job_id)
    if job is None:
        raise InfraError(f"job {job_id} is not in the job store {describe(w.store_location)}: "
                         "give every worker and the watcher the same [workers] database")
    with locks.held(w.store_location, f"job:{job.id}"):
        now = scheduler.next_stage(record.read(job.run_dir))
        if now != stage:
            return _not_next(store, job, stage, now, redelivered, send)
        with heartbeat.beating(store, job.id):   # stopped beats: a live worker retries
            return _run_and_queue(w, store, job, stage, send)


def _run_and_queue(w: Worker, store: Store, job: Job, stage: str, send: Send) -> str:
    """The stage (and those that follow it here), then the next one queued."""
    try:
        stage, result = _run(w, job, stage)
    except CocciBotError as exc:   # outside a stage: the tree, the lock, the queue
        log.error("worker: job %d %s: %s", job.id, stage, exc)
        _record_error(store, job, str(exc))
        return f"{stage} {Status.ERROR}"
    except Exception as exc:   # a bug: recorded (the job is retried), then Celery logs it
        _record_error(store, job, f"{type(exc).__name__}: {exc}")
        raise
    _after(store, job, result, send)
    return f"{stage} {result.status}"


def _not_next(store: Store, job: Job, stage: str, now: str | None, redelivered: bool,
              send: Send) -> str:
    """A copy of a stage already recorded: nothing to do, unless its worker died before
    queuing the next stage (or recording the job's outcome): then this copy does that."""
    order = scheduler.STAGES
    if redelivered and now is not None and order.index(now) > order.index(stage):
        log.info("worker: job %d %s was recorded before a worker died; queuing %s", job.id,
                 stage, now)
        send(job.id, now)
    elif redelivered and now is None:
        _after(store, job, StageResult(status=Status.SKIPPED), send)
    log.info("worker: job %d %s already done (next: %s): nothing to do", job.id, stage, now)
    return f"{stage} already done"


def _run(w: Worker, job: Job, stage: str) -> tuple[str, StageResult]:
    """Run `stage`, then the stages that follow it here: those of the same queue (drafts after
    post) and those the scheduler calls light (a skip to record, an absorbed series to mark),
    so a job never waits for a queue no worker serves just to record a skip."""
    with Queue(w.cfg, w.data_dir) as queue:
        release = resolve_release(w, job)
        ctx = pipeline.Context(job, release, job.campaign, w.cfg, w.data_dir, queue)
        while True:
            result = _run_here(w, ctx, stage)
            rec = record.read(job.run_dir)
            following = scheduler.next_stage(rec)
            if (not result.final or rec is None or following is None
                    or not (QUEUE_OF[following] == QUEUE_OF[stage]
                            or scheduler.light(rec, following))):
                return stage, result
            stage = following


def _run_here(w: Worker, ctx: pipeline.Context, stage: str) -> StageResult:
    job = ctx.job
    with _work_dir_lock(w, ctx, stage):
        _fetch_series(ctx, stage)
        log.info("worker: job %d %s %s %s: %s started", job.id, job.tree, job.tag,
                 job.campaign, stage)
        start = time.monotonic()
        result = pipeline.run_one_stage(ctx, stage)
        log.info("worker: job %d %s finished: %s in %.1f s", job.id, stage,
                 result.status, time.monotonic() - start)
        if stage == "apply":
            _bundle_series(ctx)
    return result


def _after(store: Store, job: Job, result: StageResult, send: Send) -> None:
    """Queue the job's next stage, or record the job's outcome in the store."""
    rec = record.read(job.run_dir)
    following = scheduler.next_stage(rec)
    if result.final and following is not None:
        send(job.id, following)
        if rec is not None and rec.series_url:
            store.update(job.id, state=Status.RUNNING, series_url=rec.series_url)
        return
    status = rec.status if rec is not None else Status.ERROR
    if status is Status.ERROR:
        _record_error(store, job, (rec.error if rec else None) or "a stage could not decide")
        return
    store.update(job.id, state=status, series_url=rec.series_url if rec else None)


def _record_error(store: Store, job: Job, error: str) -> None:
    """ERROR with its message; the watcher queues the job again after the back-off."""
    store.update(job.id, state=Status.ERROR, error=error)
    again = store.get(job.id)
    store.retry_at(job.id, time.time() + runner.backoff(again.attempts if again else 1))


# --- the tree on this host --------------------------------------------------------------------

def resolve_release(w: Worker, job: Job) -> watch.TreeRelease:
    """The job's release in this host's copy of the tree (mirrored here when missing)."""
    tree = next((t for t in w.cfg.trees if t.name == job.tree), None)
    if tree is None:
        raise UserError(f"job {job.id} is for tree {job.tree!r}, which this worker's bot.toml "
                        "does not list: give every worker the watcher's bot.toml")
    if tree.source == "debian":
        repo = watch.mirror_repo(w.data_dir)
        if not has_commit(repo, job.base):
            _mirror_release(tree, job.tag, repo, w.data_dir)
    elif tree.path is None:
        # a tree given by its url: this host's own fetch of it, as the watcher's (per host)
        repo = watch.remote_repo(tree, w.data_dir)
        if not has_commit(repo, job.base):
            watch.fetch(tree, repo)
        if not has_commit(repo, job.base):
            raise TreeUnavailable(f"job {job.id}: {tree.url} no longer has commit {job.base} "
                             f"({job.tag}): the tag or branch moved away from it upstream")
    else:
        repo = git.toplevel(tree.path)
    if not has_commit(repo, job.base):
        raise TreeUnavailable(f"job {job.id}: {repo} has no commit {job.base} ({job.tag}): make the "
                         f"tree {tree.name} the same on every host")
    return watch.TreeRelease(tree, repo, job.tag, job.base)


def _mirror_release(tree: Tree, tag: str, repo: Path, data_dir: Path) -> None:
    """The job's Debian release into this host's mirror (the revision bot.toml names, if any)."""
    named = [r for r in tree.releases if f"v{r.split('-')[0]}" == tag] \
        if isinstance(tree.releases, tuple) else []
    mirror_stage.mirror([parse_request(named[0] if named else tag)], repo, data_dir)


def has_commit(repo: Path, rev: str) -> bool:
    return repo.exists() and git.git(repo, "cat-file", "-e", f"{rev}^{{commit}}", check=False).ok


def _ref(job: Job) -> str:
    return f"refs/cocci-bot/jobs/{job.id}"


def _series_head(run_dir: Path) -> str | None:
    """The series' last commit, when apply made one."""
    rec = record.read(run_dir)
    if rec is None or not scheduler.applied(rec):
        return None
    assert rec.apply is not None
    return rec.apply.head


def _bundle_series(ctx: pipeline.Context) -> None:
    """The series' commits as a git bundle in the run dir, for build/drafts on other hosts."""
    head = _series_head(ctx.run_dir)
    if head is None:
        return
    repo, ref = ctx.release.repo, _ref(ctx.job)
    git.git(repo, "update-ref", ref, head)
    git.git(repo, "bundle", "create", str(ctx.run_dir / "series.bundle"), ref,
            f"^{ctx.release.base}")


def _fetch_series(ctx: pipeline.Context, stage: str) -> None:
    """Before build/drafts on a host that did not apply: the series' commits from the bundle."""
    head, bundle = _series_head(ctx.run_dir), ctx.run_dir / "series.bundle"
    if stage not in ("build", "drafts") or not head or has_commit(ctx.release.repo, head):
        return
    if not bundle.exists():
        raise InfraError(f"job {ctx.job.id}: commit {head} is neither in {ctx.release.repo} nor "
                         f"bundled in {bundle}: is [workers] run_dir shared by every host?")
    ref = _ref(ctx.job)
    git.git(ctx.release.repo, "fetch", "--quiet", "--no-tags", str(bundle), f"{ref}:{ref}")


# --- locks on this host's work dirs ------------------------------------------------------------

def host_id(data_dir: Path) -> str:
    """Names this data dir (one per host, or per set of containers sharing a data volume)."""
    path = data_dir / "host-id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}")
        tmp.write_text(uuid.uuid4().hex + "\n")
        tmp.replace(path) if not path.exists() else tmp.unlink()
    return path.read_text().strip()


@contextmanager
def _work_dir_lock(w: Worker, ctx: pipeline.Context, stage: str) -> Iterator[None]:
    """build: the tree's checkout + O= dir in DATA_DIR/build-work; apply: the bot's branch."""
    here = host_id(w.data_dir)
    lock: AbstractContextManager[None]
    if stage == "build":
        root = build_tree.work_root(w.data_dir / "build-work", ctx.release.repo)
        lock = locks.held(w.store_location, f"build-work:{here}:{root}")
    elif stage == "apply":   # the bot's branch lives in the repo, which hosts may share
        lock = locks.held(w.store_location, f"apply:{ctx.release.repo.resolve()}:"
                          f"{branch_name(ctx.campaign, ctx.release.base)}")
    else:
        lock = nullcontext()
    with lock:   # apply removes the worktrees a killed apply left (pipeline.run)
        yield
