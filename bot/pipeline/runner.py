"""Jobs from the configuration, deduplicated in the store, each run through the stages.

Errors are per job and per tree: a job whose stage ends in ERROR is recorded (run.json and the
store, with the message), retried after a back-off that doubles with each error in a row
(defaults.RETRY_BACKOFF_FIRST .. RETRY_BACKOFF_MAX, honoured by `run --watch`), and the other
jobs and trees go on. A tree that cannot be listed (a remote unreachable, apt failing) is said
in the log and asked again on the next cycle.
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
from bot.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK, CocciBotError
from bot.pipeline import reaper, watch
from bot.pipeline.config import Config, Tree
from bot.pipeline.queue import Queue
from bot.pipeline.run import Context, JobBusy, run_job
from bot.pipeline.store import Job, Store
from bot.status import Status

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


@dataclass
class Cycle:
    """What one pass over the configuration did: one (line, exit code) per job or tree."""

    results: list[tuple[str, int]]

    def add(self, line: str, code: int) -> None:
        self.results.append((line, code))


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


def run_all(cfg: Config, data_dir: Path, *, honour_backoff: bool = False,
            queue: Queue | None = None, tree_errors: TreeErrors | None = None,
            ) -> list[tuple[str, int]]:
    """Run every new (release, campaign) and resume the unfinished ones; one summary line and
    exit code per job (and per tree that could not be listed). `queue`: one kept open by the
    caller (run --watch), else the embedded queue lives for this call."""
    reaper.mark(data_dir)
    reaper.reap(data_dir)
    with contextlib.ExitStack() as stack:
        if queue is None:
            queue = stack.enter_context(Queue(cfg, data_dir))
        return _cycle(cfg, data_dir, queue, honour_backoff, tree_errors or TreeErrors())


def _cycle(cfg: Config, data_dir: Path, queue: Queue, honour_backoff: bool,
           tree_errors: TreeErrors) -> list[tuple[str, int]]:
    store = Store(data_dir / "state.sqlite3")
    spatch = cocci.version()
    campaigns = {name: campaign_mod.load(name) for t in cfg.trees for name in t.campaigns}
    cycle = Cycle([])
    for tree in cfg.trees:
        if honour_backoff and not tree_errors.due(tree.name):
            continue
        try:
            releases = watch.releases(tree, data_dir)
        except CocciBotError as exc:
            wait = tree_errors.failed(tree.name)
            again = f"asked again in {wait:.0f} s" if honour_backoff else "asked again next run"
            cycle.add(f"run: tree {tree.name}: {exc} ({again}; the other trees go on)",
                      EXIT_INFRA if exc.exit_code != 2 else exc.exit_code)
            continue
        tree_errors.ok(tree.name)
        for rel in releases:
            for name in tree.campaigns:
                job = store.job(dedupe_key(rel.base, campaigns[name], spatch), tree=tree.name,
                                tag=rel.tag, base=rel.base, campaign=name,
                                runs=data_dir / "runs")
                if _due(job, tree, rel.tag, honour_backoff):
                    run_one(store, Context(job, rel, name, cfg, data_dir, queue), cycle)
    return cycle.results


def _due(job: Job, tree: Tree, tag: str, honour_backoff: bool) -> bool:
    if job.state.final:
        log.info("run: %s %s %s already done (job %d)", tree.name, tag, job.campaign, job.id)
        return False
    wait = job.next_try - time.time()
    if honour_backoff and job.state is Status.ERROR and wait > 0:
        log.info("run: %s %s %s: error %d in a row (%s); next try in %.0f s", tree.name, tag,
                 job.campaign, job.attempts, job.error, wait)
        return False
    return True


def run_one(store: Store, ctx: Context, cycle: Cycle) -> None:
    """One job: its stages, then its state in the store; an error stays with this job."""
    job = ctx.job
    store.update(job.id, state=Status.RUNNING)
    try:
        state = run_job(ctx)
    except JobBusy as exc:
        log.info("run: %s", exc)
        return
    except KeyboardInterrupt:
        store.update(job.id, state=Status.ERROR, error="interrupted: resumed on the next run")
        store.retry_at(job.id, 0)
        raise
    except CocciBotError as exc:   # outside a stage: reading run.json, the job's lock
        state = {"status": Status.ERROR, "error": str(exc), "stages": {},
                 "tree": ctx.release.tree.name, "tag": ctx.release.tag, "campaign": ctx.campaign}
    status = Status.of(state["status"])
    store.update(job.id, state=status, series_url=state.get("series_url"),
                 error=state.get("error"))
    if status is Status.ERROR:
        again = store.get(job.id)
        attempts = again.attempts if again else 1
        store.retry_at(job.id, time.time() + backoff(attempts))
        log.warning("run: %s %s %s: ERROR (%s); try %d, next in %.0f s", ctx.release.tree.name,
                    ctx.release.tag, ctx.campaign, state.get("error"), attempts,
                    backoff(attempts))
    cycle.add(summary(state, job.run_dir), exit_code(status))


def exit_code(status: Status) -> int:
    if status is Status.FAIL:
        return EXIT_FAILED
    return EXIT_INFRA if status is Status.ERROR else EXIT_OK


def summary(state: dict, run_dir: Path) -> str:
    stages = ", ".join(f"{k} {v['status']}" for k, v in state["stages"].items())
    where = state.get("series_url") or str(run_dir)
    return f"run: {state['tree']} {state['tag']} {state['campaign']}: {stages} -> {where}"
