"""One job through the stages: apply -> build -> boot -> post -> drafts, resumable.

Each stage calls its stage's library function (bot.apply.stage.apply, bot.build.run.build,
bot.boot.run.boot, bot.post.cli.post, bot.drafts.write.write) with the run directory as its
output, the same functions the stage subcommands call; the pipeline never goes through the
CLI.  It sequences them and records what happened in run.json, replaced atomically when a
stage starts (RUNNING) and when it ends.  A stage that raises a cocci-bot error is recorded as
ERROR with the error's message and exit code; a killed bot leaves RUNNING behind; both are
run again on the next try.  A stage with a final result (PASS, FAIL, SKIPPED) never runs
again, so a job whose post is recorded is never posted twice (the queue dedupes as well).

    runs/<job-id>/run.json       schema, job, tree, tag, base, repo, campaign, status, error,
                                 stages {name: {status, why, error, exit, seconds, ...}},
                                 series_url
    runs/<job-id>/report.json    apply;  series/*.patch
    runs/<job-id>/build/         build.json and logs
    runs/<job-id>/boot/          boot.json and console log
    runs/<job-id>/drafts/        the mails, once the maintainer accepted the series

`run_one_stage(ctx, stage)` is the unit a worker runs (bot/workers); `run_job(ctx)` loops.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import defaults, git, jsonfile
from bot.errors import CocciBotError, UserError
from bot.pipeline.config import Config
from bot.pipeline.store import Job
from bot.pipeline.watch import Release
from bot.status import SCHEMA, Status

if TYPE_CHECKING:
    from bot.post.regen import Previous

log = logging.getLogger("bot.run")

STAGES = ("apply", "build", "boot", "post", "drafts", "mail")
# the queue's review states after which no drafts are written
DECIDED_AGAINST = ("rejected", "changes-requested", "superseded", "not-applicable")


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

    @property
    def run_json(self) -> Path:
        return self.job.run_dir / "run.json"


def context_of(job: Job, cfg: Config, data_dir: Path,
               queue: Callable[[], tuple[str, str]]) -> Context:
    """The Context of a job that has a run.json (a worker picking up one of its stages)."""
    try:
        state = json.loads((job.run_dir / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"job {job.id} has no readable run.json in {job.run_dir}: run "
                        "`cocci-bot run` to (re)create it") from exc
    tree = next((t for t in cfg.trees if t.name == state["tree"]), None)
    if tree is None:
        raise UserError(f"job {job.id} is for tree {state['tree']!r}, which bot.toml no longer "
                        "lists: put the tree back or leave the job")
    release = Release(tree, Path(state["repo"]), state["tag"], state["base"])
    return Context(job, release, state["campaign"], cfg, data_dir, queue)


def load_state(ctx: Context) -> dict[str, Any]:
    """run.json, created for a new job."""
    if ctx.run_json.exists():
        state: dict[str, Any] = json.loads(ctx.run_json.read_text())
        return state
    state = {"schema": SCHEMA, "job": ctx.job.id, "tree": ctx.release.tree.name,
             "tag": ctx.release.tag, "base": ctx.release.base, "repo": str(ctx.release.repo),
             "campaign": ctx.campaign, "dedupe_key": ctx.job.dedupe_key,
             "status": Status.PENDING, "error": None, "stages": {}}
    jsonfile.write(ctx.run_json, state)
    return state


def stage_status(state: dict[str, Any], stage: str) -> Status | None:
    rec = state["stages"].get(stage)
    return Status.of(rec["status"]) if rec else None


def run_one_stage(ctx: Context, stage: str) -> dict[str, Any]:
    """Run `stage` unless it has a final result; run.json is written before and after.

    Returns the stage's record. A cocci-bot error becomes an ERROR record carrying its message
    and exit code (the caller retries later); Ctrl-C/SIGTERM records the stage as interrupted
    and propagates.
    """
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    state = load_state(ctx)
    done = state["stages"].get(stage)
    if done and Status.of(done["status"]).final:
        return dict(done)
    start = time.monotonic()
    _record(ctx, state, stage, {"status": Status.RUNNING, "started": time.time()})
    try:
        result = STAGE_FUNCS[stage](ctx, state)
    except CocciBotError as exc:
        result = {"status": Status.ERROR, "error": str(exc), "exit": exc.exit_code}
    except KeyboardInterrupt:
        _record(ctx, state, stage, {"status": Status.ERROR, "exit": 130,
                                    "error": "interrupted (SIGTERM or Ctrl-C): run again"})
        raise
    result["seconds"] = round(time.monotonic() - start, 1)
    _record(ctx, state, stage, result)
    log.info("run: %s %s %s %s", ctx.release.tree.name, ctx.release.tag, stage,
             result["status"] + _because(result))
    return result


def _because(result: dict[str, Any]) -> str:
    why = result.get("error") or result.get("why")
    return f" ({why})" if why else ""


def _record(ctx: Context, state: dict[str, Any], stage: str, result: dict[str, Any]) -> None:
    state["stages"][stage] = result
    if "series_url" in result:
        state["series_url"] = result["series_url"]
    state["schema"] = SCHEMA
    state["status"], state["error"] = job_status(state)
    jsonfile.write(ctx.run_json, state)


def job_status(state: dict[str, Any]) -> tuple[Status, str | None]:
    """The job's status from its stages: the first one without a final result decides."""
    stages = state["stages"]
    for stage in STAGES:
        rec = stages.get(stage)
        if rec is None:
            return (Status.RUNNING if stages else Status.PENDING), None
        st = Status.of(rec["status"])
        if not st.final:
            return st, (f"{stage}: {rec['error']}" if rec.get("error") else None)
    failed = [s for s in STAGES if Status.of(stages[s]["status"]) is Status.FAIL]
    if failed:
        return Status.FAIL, f"{failed[0]}: {stages[failed[0]].get('why') or 'failed'}"
    if stages.get("post", {}).get("policy"):     # the tree's `post` setting kept it back
        return Status.SKIPPED, f"post: {stages['post']['why']}"
    return Status.PASS, None


def run_job(ctx: Context) -> dict[str, Any]:
    """Run the stages that have no final result yet, in order, under the job's lock; returns
    run.json's content. Stops at the first stage that ends without one (ERROR, WAITING)."""
    with job_lock(ctx.run_dir):
        for stage in STAGES:
            result = run_one_stage(ctx, stage)
            if not Status.of(result["status"]).final:
                break
        return load_state(ctx)


@contextlib.contextmanager
def job_lock(run_dir: Path) -> Iterator[None]:
    """One process per job at a time (flock: a killed holder releases it with its death)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobBusy(f"job {run_dir.name} is being run by another cocci-bot process") \
                from None
        yield


class JobBusy(CocciBotError):
    """Another process holds the job (not an error of the job)."""


def _skip(why: str) -> dict[str, Any]:
    return {"status": Status.SKIPPED, "why": why}


def _from_result(status: object, why: str | None) -> dict[str, Any]:
    st = Status.of(status)
    return {"status": st, "why": why} if why and st is not Status.PASS else {"status": st}


def stage_apply(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    from bot.apply.stage import Options, apply

    remove_stale_worktrees(ctx)
    doc = apply(Options(tree=ctx.release.repo, campaign=ctx.campaign, out=ctx.run_dir,
                        data_dir=ctx.data_dir, rev=ctx.release.base,
                        tree_name=ctx.release.tree.name, ident=ctx.cfg.ident,
                        tree_kind=ctx.release.tree.tree_kind))
    missed = sum(1 for s in doc.get("sites", []) if s.get("outcome") == "missed")
    why = None if doc["idempotent"] else "a second spatch run still changes the tree"
    result = _from_result(doc["status"], why or (f"{missed} site(s) missed" if missed else None))
    # no use of the campaign's symbols, or none its steps still change (upstream absorbed it)
    result["nothing_to_do"] = doc["nothing_to_do"] or doc.get("head") == doc["base"]
    result["head"] = doc.get("head")
    return result


def remove_stale_worktrees(ctx: Context) -> None:
    """apply's sparse worktrees of this job left by a killed bot (the job lock is ours)."""
    from bot.pipeline import reaper

    if reaper.REAPED:
        reaper.clear_git_locks(ctx.release.repo)
    prefix = f"{ctx.campaign}-{ctx.release.base[:12]}-"
    parent = ctx.data_dir / "worktrees"
    stale = sorted(parent.glob(f"{prefix}*")) if parent.is_dir() else []
    for wt in stale:
        log.info("run: removing the worktree %s a killed run left behind", wt)
        git.git(ctx.release.repo, "worktree", "remove", "-f", "-f", str(wt), check=False)
        shutil.rmtree(wt, ignore_errors=True)
    if stale:
        git.git(ctx.release.repo, "worktree", "prune", check=False)


def _applied(state: dict[str, Any]) -> dict[str, Any] | None:
    apply = state["stages"].get("apply", {})
    if Status.of(apply.get("status")) is not Status.PASS or apply.get("nothing_to_do"):
        return None
    return dict(apply)


def stage_build(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    from bot.boot import accel
    from bot.build import run as build_run

    apply = _applied(state)
    if apply is None:
        return _skip("nothing to build")
    if not ctx.cfg.build:
        return _skip("disabled in the configuration")
    from bot.pipeline import reaper

    if reaper.REAPED:   # the build's checkout is a worktree of the tree
        reaper.clear_git_locks(ctx.release.repo)
    fragment = (defaults.project_root() / "semantic_patches" / ctx.campaign
                / defaults.BUILD_FRAGMENT)
    probe = accel.start_probe() if ctx.cfg.boot else None   # host KVM probe, beside the build
    try:
        rec = build_run.build(build_run.Options(
            tree=ctx.release.repo, rev=apply["head"], base=ctx.release.base,
            out=ctx.run_dir / "build", work_dir=ctx.data_dir / "build-work", fragment=fragment,
            manifest=fragment.parent / "manifest.toml",          # which steps claim NFC
            nfc=ctx.cfg.checks.nfc))
    finally:
        if probe is not None:
            probe.join()      # remembered for this host boot: the boot stage reads the verdict
    result = _from_result(rec["status"], rec.get("reason"))
    result["kernel"] = rec.get("kernel")
    return result


def stage_boot(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    from bot.boot import run as boot_run

    build = state["stages"].get("build", {})
    if Status.of(build.get("status")) is not Status.PASS:
        return _skip("no patched kernel to boot")
    if not ctx.cfg.boot:
        return _skip("disabled in the configuration")
    kernel = build.get("kernel") or json.loads(
        (ctx.run_dir / "build" / "build.json").read_text())["kernel"]
    rec = boot_run.boot(boot_run.Options(kernel=Path(kernel), out=ctx.run_dir / "boot",
                                         dax=ctx.cfg.checks.dax))
    result = _from_result(rec["verdict"], rec.get("reason"))
    if result["status"] is Status.ERROR:   # QEMU could not run: retried like any error
        result["error"] = rec.get("reason") or "the boot could not be judged"
    return result


def stage_post(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    """Post the series; a regenerated one (vN+1) carries the range-diff and the call sites that
    changed since vN. Nothing left to do on this release: the open older version becomes Not
    Applicable (upstream absorbed the campaign)."""
    from bot.post import regen
    from bot.post.cli import post

    prev = regen.previous_run(ctx.data_dir / "runs", ctx.release.tree.name, ctx.campaign,
                              ctx.job.id)
    if _applied(state) is None:
        return _absorbed(ctx, state, prev)
    extra: dict[str, Any] = {}
    report = json.loads((ctx.run_dir / "report.json").read_text())
    if ctx.release.tree.post == "fixes" and report.get("series_kind") == "cleanup":
        why = (f"a cleanup-only series (it fixes nothing on this {report.get('tree_kind')} "
               f"tree) and [[tree]] post = \"fixes\"; read it in {ctx.run_dir / 'series'}")
        log.info("run: %s %s post SKIPPED: %s", ctx.release.tree.name, ctx.release.tag, why)
        return {"status": Status.SKIPPED, "why": why, "policy": True}
    if prev is not None:
        extra = regen_payload(ctx, prev, report)
    url, token = ctx.queue()
    series = post(ctx.run_dir, url, token, project=ctx.release.tree.name, extra=extra)
    result = {"status": Status.PASS, "series_url": series["web_url"], "series_id": series["id"],
              "version": series.get("version", 1),
              "cover_message_id": _message_id(ctx.run_dir / "series" / "0000-cover-letter.patch")}
    if prev is not None:
        result |= {"previous_series_id": prev.series_id, "range_diff": bool(extra["range_diff"]),
                   "site_delta": {k: len(v) for k, v in extra["site_delta"].items()}}
    return result


def regen_payload(ctx: Context, prev: Previous, report: dict[str, Any]) -> dict[str, Any]:
    """range_diff, site_delta and the cover with the changes since the previous version."""
    from bot.post import regen

    rdiff = regen.range_diff(ctx.release.repo, (prev.report["base"], prev.report["head"]),
                             (report["base"], report["head"]))
    delta = regen.site_delta(prev.report, report)
    cover = ctx.run_dir / "series" / "0000-cover-letter.patch"
    extra: dict[str, Any] = {"range_diff": rdiff, "site_delta": delta}
    if cover.exists():
        extra["cover"] = regen.with_changes(cover.read_text(), regen.changes_text(
            prev, report, delta))
    return extra


def _absorbed(ctx: Context, state: dict[str, Any], prev: Previous | None) -> dict[str, Any]:
    apply = state["stages"].get("apply", {})
    if not apply.get("nothing_to_do") or prev is None:
        return _skip("no series to post")
    from bot.post.client import QueueClient

    tag = ctx.release.tag
    url, token = ctx.queue()
    comment = (f"{ctx.campaign} has nothing left to do on {ctx.release.tree.name} {tag} "
               f"(base {ctx.release.base[:12]}): upstream absorbed it, so this version no "
               "longer applies.")
    changed = QueueClient(url, token).absorbed(ctx.release.tree.name, ctx.campaign, tag, comment)
    why = (f"nothing left to do on {tag}: upstream absorbed the campaign; "
           + (f"series {', '.join(map(str, changed))} marked Not Applicable" if changed
              else f"v{prev.version} (series {prev.series_id}) was already decided"))
    log.info("run: %s %s %s: %s", ctx.release.tree.name, tag, ctx.campaign, why)
    return {"status": Status.SKIPPED, "why": why, "absorbed": changed}


def _message_id(mail: Path) -> str | None:
    from bot.drafts.send import message_id

    return message_id(mail) if mail.exists() else None


def stage_drafts(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    """Once the maintainer accepts the series in the queue: git-send-email drafts (threaded to
    the previous version's cover), checked with `git send-email --dry-run`; nothing sent."""
    from bot.drafts import send, signoff
    from bot.drafts.write import frame, write
    from bot.post import regen
    from bot.post.client import QueueClient

    post = state["stages"].get("post", {})
    if Status.of(post.get("status")) is not Status.PASS:
        return _skip("nothing was posted")
    url, token = ctx.queue()
    series = QueueClient(url, token).get_series(post["series_id"])
    decision = series.get("state", "new")
    if decision in DECIDED_AGAINST:
        return _skip(f"the maintainer's decision: {decision}")
    if decision != "accepted":
        return {"status": Status.WAITING, "why": f"series is {decision!r} in the queue"}
    if (ctx.run_dir / send.MAIL_JSON).exists():   # a send began: the drafts stay as they went
        files = sorted((ctx.run_dir / "drafts").glob("*.patch"))
    else:
        report = json.loads((ctx.run_dir / "report.json").read_text())
        signing = signoff.signing(series, report)   # UserError when nobody can sign it off
        prev = regen.previous_run(ctx.data_dir / "runs", ctx.release.tree.name, ctx.campaign,
                                  ctx.job.id)
        blurb = report["cover"]["blurb"]
        if prev is not None:
            blurb += "\n\n" + regen.changes_text(prev, report, regen.site_delta(prev.report,
                                                                               report))
        files = write(ctx.release.repo, ctx.release.base, report["head"], ctx.run_dir / "drafts",
                      version=int(series.get("version", 1)), subject=report["cover"]["subject"],
                      blurb=blurb, signing=signing,
                      previous=(prev.report["base"], prev.report["head"]) if prev else None,
                      in_reply_to=prev.cover_message_id if prev else None,
                      subject_prefix=report.get("subject_prefix", "PATCH"))
        frame(files, report, ctx.run_dir, post.get("series_url"))
    check = send.dry_run(files)
    return {"status": Status.PASS, "drafts": str(ctx.run_dir / "drafts"), "files": len(files),
            "signed_off_by": send.header(files[0], "From"),
            "cover_message_id": send.message_id(files[0]),
            "in_reply_to": send.header(files[0], "In-Reply-To"),
            "send_email_dry_run": check}


def stage_mail(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    """Send the drafts, only when bot.toml says [mail] send = true; never twice."""
    from bot.drafts import send

    drafts = state["stages"].get("drafts", {})
    if Status.of(drafts.get("status")) is not Status.PASS:
        return _skip("no drafts")
    mail = getattr(ctx.cfg, "mail", None)
    if mail is None or not mail.send:
        return _skip("sending is not configured ([mail] send = true in bot.toml)")
    if not drafts.get("send_email_dry_run", {}).get("ok"):
        return {"status": Status.FAIL, "why": "git send-email --dry-run did not pass: "
                + drafts.get("send_email_dry_run", {}).get("detail", "not run")}
    files = sorted((ctx.run_dir / "drafts").glob("*.patch"))
    sent = send.send_once(ctx.run_dir, files, mail)
    if sent["state"] == "partial":
        _announce_sent(ctx, state, sent, files)
    if sent["state"] != "sent":
        return {"status": Status.FAIL, "why": sent["why"]}
    _announce_sent(ctx, state, sent, files)
    return {"status": Status.PASS, "message_ids": sent["message_ids"], "to": sent["to"]}


def _announce_sent(ctx: Context, state: dict[str, Any], sent: dict[str, Any],
                   files: list[Path]) -> None:
    """What went out, on the series in the queue: a comment naming every Message-ID and the
    recipients (the record), and a `mail` check (the at-a-glance state in lists and git-pw).
    Both are idempotent on the queue's side: a retried stage adds neither twice."""
    from bot.drafts import send
    from bot.post.client import QueueClient

    url, token = ctx.queue()
    client, series_id = QueueClient(url, token), state["stages"]["post"]["series_id"]
    client.post_series_comment(series_id, send.summary(sent, files))
    ids = sent.get("sent", sent["message_ids"])
    client.post_series_check(series_id, {
        "context": "mail", "state": "success" if sent["state"] == "sent" else "fail",
        "description": f"sent {len(ids)} of {len(sent['message_ids'])} mails; cover {ids[0]}"
                       if ids else "no mail went out"})


STAGE_FUNCS: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    "apply": stage_apply, "build": stage_build, "boot": stage_boot, "post": stage_post,
    "drafts": stage_drafts, "mail": stage_mail}
