"""Jobs from the configuration, deduplicated in the store, each run through the stages."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from bot.apply import campaign as campaign_mod
from bot.apply import cocci, stage
from bot.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK
from bot.pipeline import watch
from bot.pipeline.config import Config
from bot.pipeline.queue import Queue
from bot.pipeline.run import STAGES, WAITING, Context, run_job
from bot.pipeline.store import Store

log = logging.getLogger("bot.run")


def kconfig_hash(camp: campaign_mod.Campaign) -> str:
    frag = camp.root / "kernel.config"
    return hashlib.sha256(frag.read_bytes()).hexdigest() if frag.exists() else "-"


def dedupe_key(base: str, camp: campaign_mod.Campaign, spatch: str) -> str:
    """apply's key (base, campaign content, spatch) plus the kconfig the build uses."""
    return stage.dedupe_key(base, camp.content_hash(), spatch, kconfig_hash(camp))


def run_all(cfg: Config, data_dir: Path) -> list[tuple[str, int]]:
    """Run every new (release, campaign); returns one summary line and exit code per job."""
    store = Store(data_dir / "state.sqlite3")
    spatch = cocci.version()
    campaigns = {name: campaign_mod.load(name) for t in cfg.trees for name in t.campaigns}
    out: list[tuple[str, int]] = []
    with Queue(cfg, data_dir) as queue:
        for tree in cfg.trees:
            for rel in watch.releases(tree, data_dir):
                for name in tree.campaigns:
                    camp = campaigns[name]
                    job = store.job(dedupe_key(rel.base, camp, spatch), tree=tree.name,
                                    tag=rel.tag, base=rel.base, campaign=name,
                                    runs=data_dir / "runs")
                    if job.state == "done":
                        log.info("run: %s %s %s already done (job %d)", tree.name, rel.tag,
                                 name, job.id)
                        continue
                    store.update(job.id, state="running")
                    state = run_job(Context(job, rel, name, cfg, data_dir, queue))
                    code = verdict(state)
                    store.update(job.id, state=job_state(state, code),
                                 series_url=state.get("series_url"))
                    out.append((summary(state, job.run_dir), code))
    return out


def verdict(state: dict) -> int:
    statuses = [s["status"] for s in state["stages"].values()]
    finished = ("PASS", "FAIL", "skipped", WAITING)
    if any(s not in finished for s in statuses) or len(statuses) < len(STAGES):
        return EXIT_INFRA
    return EXIT_FAILED if "FAIL" in statuses else EXIT_OK


def job_state(state: dict, code: int) -> str:
    if code == EXIT_INFRA:
        return "failed"
    waiting = state["stages"].get("drafts", {}).get("status") == WAITING
    return "posted" if waiting else "done"


def summary(state: dict, run_dir: Path) -> str:
    stages = ", ".join(f"{k} {v['status']}" for k, v in state["stages"].items())
    where = state.get("series_url") or str(run_dir)
    return f"run: {state['tree']} {state['tag']} {state['campaign']}: {stages} -> {where}"
