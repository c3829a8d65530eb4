"""One job through the stages: apply -> build -> boot -> post, resumable.

Each stage is the same subcommand a user would run (`cocci-bot apply|build|boot`),
called in-process with the run directory as its output; the pipeline only
sequences them and records what happened in run.json, replaced atomically after
every stage.  A killed bot resumes at the first stage without a result, and a
job whose post is recorded is never posted again (the queue dedupes as well).

    runs/<job-id>/run.json       job, stages {name: {status, exit, seconds}}, series_url
    runs/<job-id>/report.json    apply;  series/*.patch
    runs/<job-id>/build/         build.json and logs
    runs/<job-id>/boot/          boot.json and console log
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import jsonfile
from bot.pipeline.config import Config
from bot.pipeline.store import Job
from bot.pipeline.watch import Release

log = logging.getLogger("bot.run")

STAGES = ("apply", "build", "boot", "post", "drafts")
DONE = ("PASS", "FAIL", "skipped")
WAITING = "waiting"   # drafts: the maintainer has not decided yet; asked again next run


@dataclass
class Context:
    job: Job
    release: Release
    campaign: str
    cfg: Config
    data_dir: Path
    queue: Callable[[], tuple[str, str]]   # starts (or finds) the queue: (url, token)

    @property
    def run_dir(self) -> Path:
        return self.job.run_dir


def run_job(ctx: Context) -> dict:
    """Run the stages that have no result yet; returns run.json's content."""
    state = _load(ctx)
    for stage in STAGES:
        done = state["stages"].get(stage)
        if done and done["status"] in DONE:
            continue
        start = time.monotonic()
        result = STAGE_FUNCS[stage](ctx, state)
        result["seconds"] = round(time.monotonic() - start, 1)
        state["stages"][stage] = result
        jsonfile.write(ctx.run_dir / "run.json", state)
        log.info("run: %s %s %s %s", ctx.release.tree.name, ctx.release.tag, stage,
                 result["status"] + (f" ({result['why']})" if result.get("why") else ""))
        if result["status"] not in DONE:
            break   # waiting, or an error (exit 2/3): resumed here on the next run
    return state


def _load(ctx: Context) -> dict:
    path = ctx.run_dir / "run.json"
    if path.exists():
        return json.loads(path.read_text())
    state = {"job": ctx.job.id, "tree": ctx.release.tree.name, "tag": ctx.release.tag,
             "base": ctx.release.base, "campaign": ctx.campaign,
             "dedupe_key": ctx.job.dedupe_key, "stages": {}}
    jsonfile.write(path, state)
    return state


def _cli(argv: list[str]) -> int:
    from bot import cli

    return cli.main(argv)


def _status(rc: int) -> str:
    if rc in (0, 1):
        return "PASS" if rc == 0 else "FAIL"
    return "error"


def _skip(why: str) -> dict:
    return {"status": "skipped", "why": why}


def stage_apply(ctx: Context, state: dict) -> dict:
    ident = ctx.cfg.ident
    rc = _cli(["apply", "--tree", str(ctx.release.repo), "--rev", ctx.release.base,
               "--campaign", ctx.campaign, "--out", str(ctx.run_dir), "--tree-name",
               ctx.release.tree.name, "--data-dir", str(ctx.data_dir),
               "--bot-name", ident[0], "--bot-email", ident[1]])
    result: dict = {"status": _status(rc), "exit": rc}
    report = ctx.run_dir / "report.json"
    if rc in (0, 1) and report.exists():
        doc = json.loads(report.read_text())
        result["nothing_to_do"] = doc["nothing_to_do"]
        result["head"] = doc.get("head")
    return result


def _applied(state: dict) -> dict | None:
    apply = state["stages"].get("apply", {})
    if apply.get("status") != "PASS" or apply.get("nothing_to_do"):
        return None
    return apply


def stage_build(ctx: Context, state: dict) -> dict:
    apply = _applied(state)
    if apply is None:
        return _skip("nothing to build")
    if not ctx.cfg.build:
        return _skip("disabled in the configuration")
    rc = _cli(["build", "--tree", str(ctx.release.repo), "--rev", apply["head"],
               "--base", ctx.release.base, "--campaign", ctx.campaign,
               "--out", str(ctx.run_dir / "build"), "--data-dir", str(ctx.data_dir),
               *([] if getattr(ctx.cfg, "nfc", True) else ["--no-nfc"])])   # [checks] nfc
    return {"status": _status(rc), "exit": rc}


def stage_boot(ctx: Context, state: dict) -> dict:
    build = state["stages"].get("build", {})
    if build.get("status") != "PASS":
        return _skip("no patched kernel to boot")
    if not ctx.cfg.boot:
        return _skip("disabled in the configuration")
    kernel = json.loads((ctx.run_dir / "build" / "build.json").read_text())["kernel"]
    rc = _cli(["boot", "--kernel", str(kernel), "--out", str(ctx.run_dir / "boot"),
               "--data-dir", str(ctx.data_dir)])
    return {"status": _status(rc), "exit": rc}


def stage_post(ctx: Context, state: dict) -> dict:
    if _applied(state) is None:
        return _skip("no series to post")
    from bot.post.cli import post

    url, token = ctx.queue()
    series = post(ctx.run_dir, url, token, project=ctx.release.tree.name)
    state["series_url"] = series["web_url"]
    return {"status": "PASS", "series_url": series["web_url"], "series_id": series["id"]}


def stage_drafts(ctx: Context, state: dict) -> dict:
    """Once the maintainer accepts the series in the queue: git-send-email drafts (not sent)."""
    post = state["stages"].get("post", {})
    if post.get("status") != "PASS":
        return _skip("nothing was posted")
    from bot.drafts.write import write
    from bot.post.client import QueueClient

    url, token = ctx.queue()
    series = QueueClient(url, token).get_series(post["series_id"])
    decision = series.get("state", "new")
    if decision in ("rejected", "changes-requested", "superseded", "not-applicable"):
        return _skip(f"the maintainer's decision: {decision}")
    if decision != "accepted":
        return {"status": WAITING, "why": f"series is {decision!r} in the queue"}
    report = json.loads((ctx.run_dir / "report.json").read_text())
    files = write(ctx.release.repo, ctx.release.base, report["head"], ctx.run_dir / "drafts",
                  version=int(series.get("version", 1)), subject=report["cover"]["subject"],
                  blurb=report["cover"]["blurb"],
                  previous=_previous(ctx, (series.get("previous") or {}).get("id")))
    return {"status": "PASS", "drafts": str(ctx.run_dir / "drafts"), "files": len(files)}


def _previous(ctx: Context, series_id: int | None) -> tuple[str, str] | None:
    """base..head of the job that posted the previous version, for the range-diff."""
    if series_id is None:
        return None
    for run_json in (ctx.data_dir / "runs").glob("*/run.json"):
        other = json.loads(run_json.read_text())
        if other["stages"].get("post", {}).get("series_id") == series_id:
            report = json.loads((run_json.parent / "report.json").read_text())
            return report["base"], report["head"]
    return None


STAGE_FUNCS: dict[str, Callable[[Context, dict], dict]] = {
    "apply": stage_apply, "build": stage_build, "boot": stage_boot, "post": stage_post,
    "drafts": stage_drafts}
