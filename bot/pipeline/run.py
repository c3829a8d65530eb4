"""One job through the stages: apply -> build -> boot -> post -> drafts -> mail, resumable.

Each stage calls its stage's library function (bot.apply.stage.apply, bot.build.run.build,
bot.boot.run.boot, bot.post.publish.post, bot.drafts.write.write) with the run directory as its
output, the same functions the stage subcommands call; the pipeline never goes through the
CLI.  The scheduler (bot/pipeline/scheduler.py) says which stage is next and which ones are
skipped; this module runs one and records it in the run record (bot/pipeline/record.py),
replaced atomically when a stage starts (RUNNING) and when it ends.  A stage that raises a
cocci-bot error is recorded as ERROR with the error's message and exit code; a killed bot
leaves RUNNING behind; both are run again on the next try.  A stage with a final result (PASS,
FAIL, SKIPPED) never runs again, so a job whose post is recorded is never posted twice (the
queue dedupes as well).

    runs/<job-id>/run.json       the run record
    runs/<job-id>/report.json    apply;  series/*.patch
    runs/<job-id>/build/         build.json and logs
    runs/<job-id>/boot/          boot.json and console log
    runs/<job-id>/drafts/        the mails, once the maintainer accepted the series

`run_one_stage(ctx, stage)` is the unit an executor runs; `run_job(ctx)` runs them in order.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import defaults, git, locking
from bot.apply import stage as apply_stage
from bot.apply.series import below_dashes
from bot.boot import accel
from bot.boot import run as boot_run
from bot.boot.attribution import cover_text
from bot.build import run as build_run
from bot.drafts import outbox, send, signoff
from bot.drafts.write import frame as frame_drafts
from bot.drafts.write import write as write_drafts
from bot.errors import CocciBotError, InfraError, JobBusy, UserError
from bot.pipeline import reaper, record, scheduler
from bot.pipeline.config import Config
from bot.pipeline.record import RunRecord, StageResult
from bot.pipeline.scheduler import STAGES
from bot.pipeline.store import Job, Store, location
from bot.pipeline.watch import TreeRelease
from bot.post import regen
from bot.post.client import QueueClient
from bot.post.publish import post
from bot.status import Status, check_state

log = logging.getLogger("bot.run")

# the queue's review states after which no drafts are written
DECIDED_AGAINST = ("rejected", "changes-requested", "superseded", "not-applicable")
StageFunc = Callable[["Context", RunRecord], dict[str, Any]]


@dataclass
class Context:
    job: Job
    release: TreeRelease
    campaign: str
    cfg: Config
    data_dir: Path
    queue: Callable[[], tuple[str, str]]   # starts (or finds) the queue: (url, token)

    @property
    def run_dir(self) -> Path:
        return self.job.run_dir

    @property
    def options(self) -> record.Options:
        """This run's options (bot.toml's [checks] with the command line's overrides)."""
        return record.Options(build=self.cfg.checks.build, boot=self.cfg.checks.boot)


def new_record(ctx: Context) -> RunRecord:
    return RunRecord(job=ctx.job.id, tree=ctx.release.tree.name, tag=ctx.release.tag,
                     base=ctx.release.base, repo=str(ctx.release.repo), campaign=ctx.campaign,
                     dedupe_key=ctx.job.dedupe_key, options=ctx.options)


def open_record(ctx: Context, *, options: record.Options | None = None) -> RunRecord:
    """The job's run record, created when the job has none; `options`: this run's, recorded
    for the stages still to run (the run's --no-build/--no-boot travel with the job)."""
    rec = record.read(ctx.run_dir)
    if rec is None:
        rec = new_record(ctx)
        if options is not None:
            rec.options = options
        record.write(ctx.run_dir, rec)
    elif options is not None and rec.options != options:
        rec.options = options
        record.write(ctx.run_dir, rec)
    return rec


def run_one_stage(ctx: Context, stage: str) -> StageResult:
    """Run `stage` unless it has a final result; the run record is written before and after.

    Returns the stage's result. A stage the scheduler skips is recorded SKIPPED without
    running. A cocci-bot error becomes an ERROR result carrying its message and exit code (the
    caller retries later); Ctrl-C/SIGTERM records the stage as interrupted and propagates.
    """
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    rec = open_record(ctx)
    done = rec.stage(stage)
    if done is not None and done.final:
        return done
    why = scheduler.skip(rec, stage)
    if why is not None:
        return _record(ctx, rec, stage, _skip(why))
    start = time.monotonic()
    _record(ctx, rec, stage, {"status": Status.RUNNING, "started": time.time()})
    try:
        result = STAGE_FUNCS[stage](ctx, rec)
    except CocciBotError as exc:
        result = {"status": Status.ERROR, "error": str(exc), "exit": exc.exit_code}
    except KeyboardInterrupt:
        _record(ctx, rec, stage, {"status": Status.ERROR, "exit": 130,
                                  "error": "interrupted (SIGTERM or Ctrl-C): run again"})
        raise
    result["seconds"] = round(time.monotonic() - start, 1)
    out = _record(ctx, rec, stage, result)
    log.info("run: %s %s %s %s", ctx.release.tree.name, ctx.release.tag, stage,
             out.status + _because(out))
    return out


def _because(result: StageResult) -> str:
    why = result.error or result.why
    return f" ({why})" if why else ""


def _record(ctx: Context, rec: RunRecord, stage: str, data: dict[str, Any]) -> StageResult:
    result = record.result(stage, data)
    rec.stages[stage] = result
    series_url = getattr(result, "series_url", None)
    if series_url:
        rec.series_url = series_url
    rec.status, rec.error = scheduler.job_status(rec)
    record.write(ctx.run_dir, rec)
    return result


def run_job(ctx: Context) -> RunRecord:
    """Run the stages that have no final result yet, in order, under the job's lock; returns
    the run record. Stops at the first stage that ends without one (ERROR, WAITING)."""
    with job_lock(ctx.run_dir):
        open_record(ctx, options=ctx.options)
        while (stage := scheduler.next_stage(record.read(ctx.run_dir))) is not None:
            if not run_one_stage(ctx, stage).final:
                break
        rec = record.read(ctx.run_dir)
        assert rec is not None
        return rec


def job_lock(run_dir: Path) -> locking.FileLock:
    """One process per job at a time (a killed holder releases it with its death)."""
    return locking.FileLock(run_dir / ".lock", busy=JobBusy(
        f"job {run_dir.name} is being run by another cocci-bot process"))


def previous(ctx: Context) -> regen.Previous | None:
    """The newest earlier job of (tree, campaign) whose series was posted, from the job store
    (wherever the runs live: the data dir, or [workers] run_dir)."""
    store = Store(location(ctx.cfg, ctx.data_dir))
    for job in store.posted(ctx.release.tree.name, ctx.campaign, before=ctx.job.id):
        rec = record.read(job.run_dir)
        post_rec = rec.post if rec is not None else None
        if post_rec is None or post_rec.status is not Status.PASS or post_rec.series_id is None:
            continue
        assert rec is not None
        drafts = rec.stage("drafts")
        return regen.Previous(
            run_dir=job.run_dir, version=post_rec.version, series_id=post_rec.series_id,
            cover_message_id=getattr(drafts, "cover_message_id", None)
            or post_rec.cover_message_id,
            report=json.loads((job.run_dir / "report.json").read_text()))
    return None


def _skip(why: str) -> dict[str, Any]:
    return {"status": Status.SKIPPED, "why": why}


def _from_result(status: object, why: str | None) -> dict[str, Any]:
    st = Status.of(status)
    return {"status": st, "why": why} if why and st is not Status.PASS else {"status": st}


def stage_apply(ctx: Context, rec: RunRecord) -> dict[str, Any]:
    remove_stale_worktrees(ctx)
    doc = apply_stage.apply(apply_stage.Options(
        tree=ctx.release.repo, campaign=ctx.campaign, out=ctx.run_dir, data_dir=ctx.data_dir,
        rev=ctx.release.base, tree_name=ctx.release.tree.name, ident=ctx.cfg.ident,
        tree_kind=ctx.release.tree.tree_kind))
    missed = sum(1 for s in doc.get("sites", []) if s.get("outcome") == "missed")
    why = None if doc["idempotent"] else "a second spatch run still changes the tree"
    result = _from_result(doc["status"], why or (f"{missed} site(s) missed" if missed else None))
    # no use of the campaign's symbols, or none its steps still change (upstream absorbed it)
    result["nothing_to_do"] = doc["nothing_to_do"] or doc.get("head") == doc["base"]
    result["head"] = doc.get("head")
    return result


def remove_stale_worktrees(ctx: Context) -> None:
    """apply's worktrees of this job left by a killed bot (the job lock is ours): those in the
    data dir, and any still registered on the bot's branch in the tree."""
    if reaper.REAPED:
        reaper.clear_git_locks(ctx.release.repo)
    prefix = f"{ctx.campaign}-{ctx.release.base[:12]}-"
    parent = ctx.data_dir / "worktrees"
    stale = sorted(parent.glob(f"{prefix}*")) if parent.is_dir() else []
    for wt in stale:
        log.info("run: removing the worktree %s a killed run left behind", wt)
        git.git(ctx.release.repo, "worktree", "remove", "-f", "-f", str(wt), check=False)
        shutil.rmtree(wt, ignore_errors=True)
    drop_worktrees_on(ctx.release.repo, apply_stage.branch_name(ctx.campaign, ctx.release.base))


def drop_worktrees_on(repo: Path, branch: str) -> None:
    """Worktrees left on the bot's branch by an apply that was killed (SIGKILL: no cleanup)
    would make the next apply of that base fail; under the job's lock none is in use."""
    listing = git.out(repo, "worktree", "list", "--porcelain")
    for entry in listing.split("\n\n"):
        lines = dict(line.partition(" ")[::2] for line in entry.splitlines())
        if lines.get("branch") == f"refs/heads/{branch}" and lines.get("worktree"):
            log.info("run: removing %s, left on %s by a killed apply", lines["worktree"], branch)
            git.git(repo, "worktree", "remove", "--force", "--force", lines["worktree"],
                    check=False)
    git.git(repo, "worktree", "prune", check=False)


def stage_build(ctx: Context, rec: RunRecord) -> dict[str, Any]:
    apply = rec.apply
    assert apply is not None and apply.head is not None   # the scheduler skips the build else
    if reaper.REAPED:   # the build's checkout is a worktree of the tree
        reaper.clear_git_locks(ctx.release.repo)
    fragment = (defaults.project_root() / "semantic_patches" / ctx.campaign
                / defaults.BUILD_FRAGMENT)
    probe = accel.start_probe() if rec.options.boot else None   # host KVM probe, beside it
    try:
        out = build_run.build(build_run.Options(
            tree=ctx.release.repo, rev=apply.head, base=ctx.release.base,
            out=ctx.run_dir / "build", work_dir=ctx.data_dir / "build-work", fragment=fragment,
            manifest=fragment.parent / "manifest.toml",          # which steps claim NFC
            nfc=ctx.cfg.checks.nfc))
    finally:
        if probe is not None:
            probe.join()      # remembered for this host boot: the boot stage reads the verdict
    result = _from_result(out["status"], out.get("reason"))
    result["kernel"] = out.get("kernel")
    return result


def stage_boot(ctx: Context, rec: RunRecord) -> dict[str, Any]:
    build_json = ctx.run_dir / "build" / "build.json"
    built = json.loads(build_json.read_text()) if build_json.is_file() else {}
    kernel = getattr(rec.stage("build"), "kernel", None) or built.get("kernel")
    if not kernel:
        raise InfraError(f"no patched kernel to boot: the build recorded none ({build_json})")
    base, fix = built.get("base_kernel"), (built.get("fix_first") or {}).get("kernel")
    out = boot_run.boot(boot_run.Options(kernel=Path(kernel), out=ctx.run_dir / "boot",
                                         dax=ctx.cfg.checks.dax,
                                         base_kernel=Path(base) if base else None,
                                         history=ctx.data_dir,
                                         fix_kernel=Path(fix) if fix else None))
    judged = out.get("attribution") or out.get("fix_first")   # status is the series' result
    result = _from_result(out["status"] if judged else out["verdict"], out.get("reason"))
    if result["status"] is Status.ERROR:   # QEMU could not run: retried like any error
        result["error"] = out.get("reason") or "the boot could not be judged"
    return result


def stage_post(ctx: Context, rec: RunRecord) -> dict[str, Any]:
    """Post the series; a regenerated one (vN+1) carries the range-diff and the call sites that
    changed since vN. Nothing left to do on this release: the open older version becomes Not
    Applicable (upstream absorbed the campaign)."""
    applied = scheduler.applied(rec)
    report = json.loads((ctx.run_dir / "report.json").read_text()) if applied else {}
    if ctx.release.tree.post == "fixes" and report.get("series_kind") == "cleanup":
        why = (f"a cleanup-only series (it fixes nothing on this {report.get('tree_kind')} "
               f"tree) and [[tree]] post = \"fixes\"; read it in {ctx.run_dir / 'series'}")
        log.info("run: %s %s post SKIPPED: %s", ctx.release.tree.name, ctx.release.tag, why)
        return {"status": Status.SKIPPED, "why": why, "policy": True}
    prev = previous(ctx)
    if not applied:
        return _absorbed(ctx, prev)
    extra: dict[str, Any] = {}
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


def regen_payload(ctx: Context, prev: regen.Previous, report: dict[str, Any]) -> dict[str, Any]:
    """range_diff, site_delta and the cover with the changes since the previous version."""
    rdiff = regen.range_diff(ctx.release.repo, (prev.report["base"], prev.report["head"]),
                             (report["base"], report["head"]))
    delta = regen.site_delta(prev.report, report)
    cover = ctx.run_dir / "series" / "0000-cover-letter.patch"
    extra: dict[str, Any] = {"range_diff": rdiff, "site_delta": delta}
    if cover.exists():
        extra["cover"] = regen.with_changes(cover.read_text(), regen.changes_text(
            prev, report, delta))
    return extra


def _absorbed(ctx: Context, prev: regen.Previous | None) -> dict[str, Any]:
    """apply found nothing left to do: the open older version becomes Not Applicable."""
    if prev is None:
        return _skip("no series to post")
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
    return send.message_id(mail) if mail.exists() else None


def _attribution_text(boot_json: Path) -> str:
    """The cover's word on failed boot checks: the series' fault or the tree's."""
    text = cover_text(json.loads(boot_json.read_text())) if boot_json.is_file() else ""
    return "\n\n" + text if text else ""


def stage_drafts(ctx: Context, rec: RunRecord) -> dict[str, Any]:
    """Once the maintainer accepts the series in the queue: git-send-email drafts (threaded to
    the previous version's cover), checked with `git send-email --dry-run`; nothing sent."""
    post_rec = rec.post
    assert post_rec is not None and post_rec.series_id is not None   # the scheduler says so
    url, token = ctx.queue()
    series = QueueClient(url, token).get_series(post_rec.series_id)
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
        prev = previous(ctx)
        news = _attribution_text(ctx.run_dir / "boot" / "boot.json")
        if prev is not None:
            news += "\n\n" + regen.changes_text(prev, report, regen.site_delta(prev.report,
                                                                              report))
        files = write_drafts(
            ctx.release.repo, ctx.release.base, report["head"], ctx.run_dir / "drafts",
            version=int(series.get("version", 1)), subject=report["cover"]["subject"],
            blurb=report["cover"]["blurb"] + news, signing=signing,
            previous=(prev.report["base"], prev.report["head"]) if prev else None,
            in_reply_to=prev.cover_message_id if prev else None,
            subject_prefix=report.get("subject_prefix", "PATCH"))
        frame_drafts(files, report, ctx.run_dir, post_rec.series_url)
        if len(files) == 1:   # no cover letter: what it adds to apply's facts goes below `---`
            below_dashes(files[0], news)
    check = send.dry_run(files)
    return {"status": Status.PASS, "drafts": str(ctx.run_dir / "drafts"), "files": len(files),
            "signed_off_by": send.header(files[0], "From"),
            "cover_message_id": send.message_id(files[0]),
            "in_reply_to": send.header(files[0], "In-Reply-To"),
            "send_email_dry_run": check}


def stage_mail(ctx: Context, rec: RunRecord) -> dict[str, Any]:
    """Send the drafts, only when bot.toml says [mail] send = true, under bot.drafts.outbox's
    rules (kill switch, listed recipients, loops, embargo, budgets, the target tree)."""
    drafts = rec.stage("drafts")
    assert drafts is not None   # the scheduler skips the mail without drafts
    if not ctx.cfg.mail.send:
        return _skip("sending is not configured ([mail] send = true in bot.toml)")
    dry = getattr(drafts, "send_email_dry_run", None) or {}
    if not dry.get("ok"):
        return {"status": Status.FAIL, "why": "git send-email --dry-run did not pass: "
                + dry.get("detail", "not run")}
    files = sorted((ctx.run_dir / "drafts").glob("*.patch"))
    client = QueueClient(*ctx.queue())
    post_rec = rec.post
    assert post_rec is not None and post_rec.series_id is not None   # the scheduler says so
    approved_at, withdrawn = outbox.approval(client.get_series(post_rec.series_id),
                                             DECIDED_AGAINST)
    out = outbox.Outgoing(ctx.run_dir, files, ctx.release.repo, ctx.release.tree.name,
                          ctx.release.base, ctx.release.tree.target)
    result = withdrawn or outbox.deliver(out, ctx.cfg.mail, ctx.data_dir, client.mail_stop,
                                         approved_at)
    _announce_mail(ctx, rec, result, files)
    return result


def _announce_mail(ctx: Context, rec: RunRecord, result: dict[str, Any],
                   files: list[Path]) -> None:
    """The mail stage on the series in the queue: a `mail` check (its at-a-glance state: why it
    waits, or what went out) and, once mails went out, a comment naming every Message-ID and
    the recipients.  Idempotent: a check only when its text changes, the comment once."""
    sent = result.get("sent", [])
    if Status.of(result["status"]) is Status.WAITING:
        check = {"context": "mail", "state": "pending",
                 "description": ("waiting: " + result["why"])[:250]}
    else:
        check = {"context": "mail", "state": check_state(result["status"]),
                 "description": (f"sent {len(sent)} of {len(files)} mails; cover {sent[0]}"
                                 if sent else "no mail went out: " + result.get("why", ""))[:250]}
    if outbox.announced(ctx.run_dir, check):
        return
    post_rec = rec.post
    assert post_rec is not None and post_rec.series_id is not None
    client = QueueClient(*ctx.queue())
    if sent:
        mails = {"state": result["mail_state"], "message_ids": result["message_ids"],
                 "sent": sent, "to": result["to"], "why": result.get("why", ""),
                 **send.timing(ctx.run_dir)}
        client.post_series_comment(post_rec.series_id, send.summary(mails, files))
    client.post_series_check(post_rec.series_id, check)
    outbox.mark_announced(ctx.run_dir, check)


STAGE_FUNCS: dict[str, StageFunc] = {
    "apply": stage_apply, "build": stage_build, "boot": stage_boot, "post": stage_post,
    "drafts": stage_drafts, "mail": stage_mail}
