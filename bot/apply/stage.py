"""`cocci-bot apply`: run a campaign on a tree and write OUTDIR/series/ and OUTDIR/report.json.

One run, in order:
  1. resolve the tree, the revision and the campaign (bad input fails here, nothing made);
  2. a sparse worktree of the base commit on the bot's own branch
     cocci-bot/<campaign>/<short-base>, holding only the files that mention the
     campaign's token (git grep on the base commit) — the user's checkout is never touched;
  3. the classifier's per-site report of the base tree (its tree facts may skip a step);
     then each step: spatch in place (prefiltered, parallel, per-file timeout), one commit;
  4. idempotence: every step again on the result must change nothing;
  5. git format-patch with a cover letter; report.json replaced atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot import defaults, git, jsonfile, names
from bot.apply import campaign as campaign_mod
from bot.apply import checkpatch, claims, cocci, framing, identity, messages, report, series
from bot.apply.campaign import Campaign, Step
from bot.apply.identity import Identity
from bot.errors import InfraError, UserError
from bot.status import SCHEMA, Status

log = logging.getLogger("bot.apply")


@dataclass
class Options:
    tree: Path
    campaign: str
    out: Path
    data_dir: Path
    rev: str = "HEAD"
    jobs: int = defaults.SPATCH_JOBS
    file_timeout: int = defaults.TIMEOUT_SPATCH_FILE
    # (name, email) from the configuration; None: the bot authors it, unsigned (identity.py)
    ident: tuple[str, str] | None = None
    campaigns_root: Path | None = None
    tree_name: str | None = None
    tree_kind: str | None = None    # "stable" | "mainline"; None: from the base's tag (framing)

    def __post_init__(self) -> None:
        # relative paths mean the caller's current directory, never the temporary worktree
        self.out, self.data_dir = Path(self.out).absolute(), Path(self.data_dir).absolute()


@dataclass
class StepResult:
    step: Step
    commit: str | None = None
    files: list[str] = field(default_factory=list)
    skipped: str = ""
    unchanged: str = ""
    seconds: float = 0.0
    diff: str = ""

    def to_json(self, camp: Campaign) -> dict:
        data: dict = {"name": self.step.label,
                      "cocci": camp.relpath(self.step.cocci) if self.step.cocci else None,
                      "subject": self.step.subject, "commit": self.commit, "files": self.files,
                      "seconds": round(self.seconds, 3)}
        if self.skipped:
            data["skipped"] = self.skipped
        if self.unchanged:
            data["unchanged"] = self.unchanged
        return data


def apply(opts: Options) -> dict:
    """Run the campaign; returns the report (also written to OUTDIR/report.json).

    Once report.json says `running`, any error replaces it with status `error` and the
    error's message before it propagates: no output directory is left looking unfinished."""
    start = time.monotonic()
    git.require_git()
    camp = campaign_mod.load(opts.campaign, opts.campaigns_root)
    spatch_version = cocci.version()
    tree = git.toplevel(opts.tree)
    base = git.resolve(tree, opts.rev)
    ident = identity.resolve(opts.ident, camp.name)
    ident_source = identity.source(opts.ident)
    opts = Options(**{**opts.__dict__, "ident": ident})
    _check_out_dir(opts.out, tree)
    tag = _tag(tree, opts.rev, base)
    frame = framing.Frame(framing.tree_kind(opts.tree_kind, tag),
                          framing.version(str(tree), tag, _makefile(tree, base)))
    hits = _grep(tree, base, camp.requires)
    files = sorted({path for path, _line, _text in hits})
    doc: dict = {"schema": SCHEMA, "campaign": camp.name, "base": base, "rev": opts.rev, "spatch": spatch_version,
                 "tree": names.check(opts.tree_name, "--tree-name") if opts.tree_name
                 else tree_name(tree), "tree_path": str(tree),
                 "tag": tag, "tree_kind": frame.kind,
                 "tree_version": ".".join(map(str, frame.version)),
                 "dedupe_key": dedupe_key(base, camp.content_hash(), spatch_version),
                 "steps": [], "sites": [], "idempotent": True,
                 "nothing_to_do": not files, "file_problems": {},
                 "campaign_hash": camp.content_hash(), "cocci_hashes": camp.hashes(),
                 "identity": {"name": ident.name, "email": ident.email, "source": ident_source},
                 "requires": camp.requires}
    jsonfile.write(opts.out / "report.json", doc | {"status": Status.RUNNING})
    try:
        return _apply(opts, camp, tree, base, hits, doc, start, frame)
    except BaseException as exc:
        jsonfile.write(opts.out / "report.json",
                       doc | {"status": Status.ERROR, "error": str(exc) or type(exc).__name__,
                              "seconds": round(time.monotonic() - start, 3)})
        raise


def _apply(opts: Options, camp: Campaign, tree: Path, base: str,
           hits: list[tuple[str, int, str]], doc: dict, start: float,
           frame: framing.Frame) -> dict:
    assert isinstance(opts.ident, Identity)
    files = sorted({path for path, _line, _text in hits})
    if not files:
        doc["steps"] = [StepResult(s, skipped=f"nothing to do: no {camp.requires} in the tree")
                        .to_json(camp) for s in camp.steps]
        return _finish(opts, doc, start, [])
    with _worktree(tree, base, camp, files, opts.data_dir) as (wt, branch):
        doc["branch"] = branch
        results, sites, facts, problems = _run_steps(camp, wt, opts, frame)
        sites += _unparsed(hits, camp.requires, sites, problems)
        doc["facts"] = sorted(facts.tree)
        doc["file_problems"] = problems
        doc["idempotent"], doc["idempotence_diff"] = _idempotence(camp, results, wt, opts)
        for site in sites:
            _judge(site, results, camp.classes)
        doc["steps"] = [r.to_json(camp) for r in results]
        doc["sites"] = [s.to_json() for s in sites]
        patches = []
        committed = [r for r in results if r.commit]
        if committed:
            fixes = any(r.step.is_fix for r in committed)
            doc["series_kind"] = "fix" if fixes else "cleanup"
            doc["subject_prefix"] = framing.subject_tag(frame, fixes)
            if len(committed) == 1 and camp.link:      # the campaign's Link: once, here
                _add_link(wt, camp.link, opts.ident)
                committed[0].commit = git.out(wt, "rev-parse", "HEAD")
                doc["steps"] = [r.to_json(camp) for r in results]
            note = messages.prove(camp, framing.frame_note(
                camp, frame, [r.step.kind for r in committed],
                lambda t: messages.wrap(messages.render(camp, t, facts, "stable_cleanup"))),
                facts, "cover")
            note = messages.wrap(note)
            subject = framing.cover_subject(camp.title)
            doc["cover"] = {"subject": subject, "note": note,
                            "blurb": messages.cover_blurb(camp, doc, facts,
                                                          _tool_line(doc), note)}
            patches = series.format_patch(wt, base, opts.out / "series", subject,
                                          doc["cover"]["blurb"], opts.ident.env(),
                                          doc["subject_prefix"], cover=len(committed) > 1)
            doc["below_dashes"] = _below_dashes(camp, committed, doc, patches)
        doc["head"] = git.out(wt, "rev-parse", "HEAD")
        doc["claims"] = _claims(camp, tree, base, doc, patches, facts, frame).to_json()
        if patches:
            doc["checkpatch"] = checkpatch.run(tree, base, patches, opts.out,
                                               signed=opts.ident.signs)
        return _finish(opts, doc, start, patches)


def tree_name(tree: Path) -> str:
    """The project name a tree goes by: its directory name without .git, made a valid name
    (bot.names: "Linux-Stable.git" -> "linux-stable")."""
    return names.suggest(tree.name)


def branch_name(campaign: str, base: str) -> str:
    """The bot's branch for a campaign on a base: the only branch apply writes."""
    return f"cocci-bot/{campaign}/{base[:12]}"


def dedupe_key(*parts: str) -> str:
    """Same base, campaign content and tool versions: the same job, never posted twice."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _tag(tree: Path, rev: str, base: str) -> str | None:
    """The release tag the base is, when there is one (`v5.10.223`)."""
    res = git.git(tree, "describe", "--tags", "--exact-match", base, check=False)
    return res.stdout.strip() if res.ok else None


def _finish(opts: Options, doc: dict, start: float, patches: list[Path]) -> dict:
    doc["series"] = [str(p.relative_to(opts.out)) for p in patches]
    doc["seconds"] = round(time.monotonic() - start, 3)
    missed = [s for s in doc["sites"] if s["outcome"] == "missed"]
    proved = doc.get("claims", {}).get("status", "PASS") == "PASS"
    doc["status"] = Status.PASS if doc["idempotent"] and not missed and proved else Status.FAIL
    jsonfile.write(opts.out / "report.json", doc)
    return doc


def _check_out_dir(out: Path, tree: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: pass a directory (it is created if missing)")
    if out.resolve() == tree.resolve() or tree.resolve() in out.resolve().parents:
        raise UserError(f"--out {out} is inside the tree {tree}: pass a directory outside it")
    out.mkdir(parents=True, exist_ok=True)


def _grep(tree: Path, base: str, token: str) -> list[tuple[str, int, str]]:
    """Every line of the base commit that mentions the token: (path, line, text)."""
    res = git.git(tree, "grep", "-n", "-F", "-e", token, base, "--", check=False)
    if res.returncode not in (0, 1):
        raise InfraError(f"git grep failed in {tree}: {res.tail()}")
    hits = []
    for hit in res.stdout.splitlines():
        _rev, path, line, text = hit.split(":", 3)
        hits.append((path, int(line), text))
    return hits


def _unparsed(hits: list[tuple[str, int, str]], token: str, sites: list[report.Site],
              problems: dict[str, str]) -> list[report.Site]:
    """Uses git grep sees but spatch did not (a parse failure, a timeout): reported, untouched."""
    seen = {(s.file, s.line) for s in sites}
    extra = []
    for path, line, text in hits:
        code = text.strip()
        if (path, line) in seen or code.startswith(("*", "//", "/*")) or f"{token}(" not in code:
            continue
        extra.append(report.Site(path, line, 0, "", code[:120], "unknown",
                                 note="spatch did not analyse this use (see file_problems)"))
        problems.setdefault(path, f"spatch could not analyse line {line}: parse failure or timeout")
    return extra


@contextlib.contextmanager
def _worktree(tree: Path, base: str, camp: Campaign, files: list[str],
              data_dir: Path) -> Iterator[tuple[Path, str]]:
    """A sparse worktree of `base` on the bot's branch, removed afterwards (the branch stays)."""
    branch = branch_name(camp.name, base)
    parent = data_dir / "worktrees"
    parent.mkdir(parents=True, exist_ok=True)
    wt = Path(tempfile.mkdtemp(prefix=f"{camp.name}-{base[:12]}-", dir=parent))
    try:
        git.git(tree, "worktree", "add", "--quiet", "--no-checkout", "--force", "-B", branch,
                str(wt), base)
        git.git(wt, "sparse-checkout", "set", "--no-cone", *(f"/{f}" for f in files))
        git.git(wt, "checkout", "--quiet")
        yield wt, branch
    finally:
        git.git(tree, "worktree", "remove", "--force", str(wt), check=False)
        shutil.rmtree(wt, ignore_errors=True)
        git.git(tree, "worktree", "prune", check=False)


def _run_steps(camp: Campaign, wt: Path, opts: Options, frame: framing.Frame):
    results: list[StepResult] = []
    facts = messages.Facts()
    tracker = report.Tracker([])
    # the classifier's report of the base tree, before any step: its facts decide which
    # steps run (the first step may be the one a tree fact skips)
    base_run = _spatch(camp, camp.classifier, wt, ("report",), opts, in_place=False)
    problems: dict[str, str] = dict(base_run.file_problems)
    facts.sites = tracker.sites = _sites(camp, base_run.records)
    facts.tree = report.facts_from_records(base_run.records) | {f"{frame.kind}_tree"}
    for step in camp.steps:
        res = StepResult(step)
        results.append(res)
        if _skipped(camp, step, facts):
            res.skipped = messages.skip_reason(camp, step, facts) if step.cocci else \
                messages.wrap(step.otherwise_reason)
            log.info("apply: %s skipped", step.label)
            continue
        assert step.cocci is not None
        pre = git.out(wt, "rev-parse", "HEAD")
        run = _spatch(camp, step.cocci, wt, ("patch",), opts, in_place=True)
        problems.update(run.file_problems)
        facts.steps.add(f"ran:{step.name}")
        hidden = _invisible(step, wt)
        if hidden:
            git.git(wt, "checkout", "--quiet", "--", ".")    # calls to a name nothing declares
            res.skipped = messages.wrap(
                f"{hidden}() could not be declared where its callers see it (the tree has no "
                "declaration for it to sit next to), so this step's uses are left as they are")
            log.info("apply: %s reverted: %s() not declared", step.label, hidden)
            continue
        facts.changed = tracker.step(step.label, git.out(wt, "diff", "-U0"))
        assert isinstance(opts.ident, Identity)
        touched = git.out(wt, "diff", "--name-only").splitlines()
        prefix = framing.subject_prefix(camp, str(wt), pre, touched, frame,
                                        framing.prefix_of(step.subject))
        msg = messages.commit_message(
            camp, step, facts, opts.ident, framing.subject(camp, step, prefix),
            framing.trailers(camp, step, frame, single=False),
            framing.upstream_line(camp, step, frame))
        res.commit = series.commit(wt, msg, opts.ident.env(date=_now()),
                                   f"cocci-bot: {camp.relpath(step.cocci)}")
        res.seconds = run.seconds
        if res.commit:
            facts.steps.add(f"changed:{step.name}")
            res.files = git.out(wt, "diff", "--name-only", pre, res.commit).splitlines()
            res.diff = git.out(wt, "diff", "-U0", pre, res.commit)
        else:
            res.unchanged = messages.unchanged_reason(camp, step, facts)
        log.info("apply: %s %s in %.1f s", step.label,
                 f"{res.commit[:12]} ({len(res.files)} files)" if res.commit else "no change",
                 run.seconds)
    facts.changed = []
    return results, tracker.sites, facts, problems


def _sites(camp: Campaign, records: list[dict]) -> list[report.Site]:
    """The classifier's sites; a class the manifest does not declare is the campaign's bug."""
    sites = report.sites_from_records(records)
    bad = sorted({s.cls for s in sites} - set(camp.classes))
    if bad:
        raise UserError(f"{camp.classifier.name} reports class {bad[0]!r}, which "
                        f"{camp.root / 'manifest.toml'} does not declare: add it to [classes]")
    return sites


def _invisible(step: Step, wt: Path) -> str:
    """A helper the step calls but no line of the tree declares or defines (kernel style: the
    declaration starts at column 0), so the converted code would not compile; "" if none."""
    for name in step.provides:
        used = git.git(wt, "grep", "-q", "-E", rf"\b{name}\(", check=False).ok
        declared = git.git(wt, "grep", "-q", "-E", rf"^[A-Za-z_].*\b{name}\(", check=False).ok
        if used and not declared:
            return name
    return ""


def _skipped(camp: Campaign, step: Step, facts: messages.Facts) -> bool:
    """A step does not run when one of its skip facts holds on this tree, or it has no
    semantic patch."""
    return step.cocci is None or any(facts.holds(f) for f in step.skip_if_fact)


def _spatch(camp: Campaign, sp_file: Path, wt: Path, modes: tuple[str, ...], opts: Options,
            in_place: bool) -> cocci.SpatchRun:
    options = list(camp.spatch_options)
    for extra in modes[1:]:
        options += ["-D", extra]
    return cocci.run(sp_file, wt, modes[0], tuple(options), in_place=in_place,
                     jobs=opts.jobs, timeout=opts.file_timeout,
                     log_path=opts.out / "logs" / "spatch.log")


def _now() -> str:
    """Commits carry the time they are made (a patch's Date is when it was generated, never
    the base commit's); the same inputs give the same trees and messages."""
    return f"@{int(time.time())} +0000"


def _makefile(tree: Path, base: str) -> str | None:
    res = git.git(tree, "show", f"{base}:Makefile", check=False)
    return res.stdout if res.ok else None


def _add_link(wt: Path, link: str, ident: Identity) -> None:
    """A series of one patch: the campaign's Link: goes on it, before the sign-off."""
    msg = git.out(wt, "log", "-1", "--format=%B", "HEAD")
    body, sep, sob = msg.rstrip("\n").rpartition("\nSigned-off-by: ")
    new = f"{body}\nLink: {link}{sep}{sob}\n" if sep else f"{msg.rstrip()}\nLink: {link}\n"
    note = git.out(wt, "notes", f"--ref={series.NOTES_REF}", "show", "HEAD")
    git.git(wt, "commit", "--quiet", "--amend", "--no-verify", "-F", "-", input=new,
            env=ident.env(date=_now()))
    git.git(wt, "notes", f"--ref={series.NOTES_REF}", "add", "-f", "-m", note, "HEAD")


def _below_dashes(camp: Campaign, committed: list[StepResult], doc: dict,
                  patches: list[Path]) -> dict[str, str]:
    """Each patch's notes below `---`: which semantic patch made it (the queue has the
    reproducer), and for a series of one patch the cover's facts."""
    mails = [p for p in patches if not p.name.startswith("0000-")]
    out = {}
    for res, mail in zip(committed, mails, strict=True):
        assert res.step.cocci is not None
        lines = [messages.wrap(f"This patch was made by the semantic patch "
                               f"{res.step.cocci.name} of cocci-bot's {camp.name} campaign; "
                               "the review queue has its reproducer.")]
        if doc["cover"]["note"]:
            lines.insert(0, doc["cover"]["note"])
        if len(mails) == 1:    # no cover letter: its facts here; its Link: is the patch's
            blurb = "\n".join(line for line in doc["cover"]["blurb"].splitlines()
                              if not line.startswith("Link: "))
            lines = [re.sub(r"\n{3,}", "\n\n", blurb), lines[-1]]
        out[mail.name] = "\n\n".join(lines)
        series.below_dashes(mail, out[mail.name])
    return out


def _claims(camp: Campaign, tree: Path, base: str, doc: dict, patches: list[Path],
            facts: messages.Facts, frame: framing.Frame) -> claims.Result:
    """The claim check of everything the series says (bot/apply/claims.py), the [[claims]]
    rules messages.py found broken, and every line of the messages at most 75 columns."""
    head = doc.get("head") or base
    touched = sorted({f for s in doc["steps"] for f in s.get("files", [])})
    kinds = {s.name: s.kind for s in camp.steps}
    msgs = []
    mails = [p.name for p in patches if not p.name.startswith("0000-")]
    for step, mail in zip([s for s in doc["steps"] if s.get("commit")], mails, strict=True):
        text = git.out(tree, "log", "-1", "--format=%B", step["commit"])
        text += "\n" + doc.get("below_dashes", {}).get(mail, "")
        msgs.append(claims.Message(step["name"], text, kinds[step["name"].split("-", 1)[1]]))
    series_kinds = tuple(kinds[s["name"].split("-", 1)[1]] for s in doc["steps"] if s.get("commit"))
    msgs = [claims.Message(m.label, m.text, m.kind, series=series_kinds) for m in msgs]
    if "cover" in doc:
        msgs.append(claims.Message("cover", doc["cover"]["blurb"], "cover",
                                   doc.get("series_kind") == "cleanup", series_kinds))
    added = "\n".join(line[1:] for line in git.out(tree, "diff", base, head).splitlines()
                      if line.startswith("+") and not line.startswith("+++"))
    result = claims.check(camp, claims.Tree(tree, base, head, touched, added), msgs,
                          claims.comments(added), frame.version)
    for where, sentence, why in facts.unproved:
        result.failures.append(claims.Failure(where, sentence, why))
    for path in patches:
        for n, line in enumerate(claims.message_lines(path.read_text()), start=1):
            if len(line) > claims.MAX_COLUMNS:
                result.failures.append(claims.Failure(path.name, line, f"line {n} is "
                                       f"{len(line)} columns: at most {claims.MAX_COLUMNS}"))
    return result



def _idempotence(camp: Campaign, results: list[StepResult], wt: Path,
                 opts: Options) -> tuple[bool, str]:
    """Every step that ran, again on the result, concurrently (read-only: no --in-place);
    any diff fails.  A step skipped on this tree is not part of its series."""
    steps = [r.step for r in results if r.step.cocci is not None and not r.skipped]
    if not steps:
        return True, ""
    per_step = Options(**{**opts.__dict__, "jobs": max(1, opts.jobs // max(1, len(steps)))})

    def rerun(step: Step) -> cocci.SpatchRun:
        assert step.cocci is not None
        return _spatch(camp, step.cocci, wt, ("patch",), per_step, in_place=False)

    with ThreadPoolExecutor(max_workers=max(1, len(steps))) as pool:
        runs = list(pool.map(rerun, steps))
    diffs = [run.diff for run in runs if run.diff.strip()]
    return not diffs, "".join(diffs)


def _judge(site: report.Site, results: list[StepResult], classes: dict[str, str]) -> None:
    owner = next((r for r in results if site.cls in r.step.classes), None)
    if site.outcome == "transformed":
        # an earlier step may touch the use too (a fix guarding it), as long as the
        # step that converts its class is one of the steps that changed it
        if owner is None or owner.step.label not in site.changed_by:
            site.note = (f"changed by {', '.join(site.changed_by)}, which does not convert "
                         f"{site.cls} uses")
            site.outcome = "missed"
        else:
            site.step = owner.step.label
        return
    if owner is None:
        site.note = classes.get(site.cls, "")
        return
    if owner.skipped:
        site.outcome, site.note = "skipped", owner.skipped.split("\n")[0]
    elif owner.step.untouched_note:
        site.note = owner.step.untouched_note    # the campaign says why it may stay
    else:
        site.outcome, site.note = "missed", f"{owner.step.label} should have converted it"


def _tool_line(doc: dict) -> str:
    """What the run found, for the cover; the tool's flags and hashes stay in report.json."""
    counts: dict[str, int] = {}
    for s in doc["sites"]:
        counts[f"{s['class']}/{s['outcome']}"] = counts.get(f"{s['class']}/{s['outcome']}", 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    return messages.wrap(f"Call sites: {summary}.") + (
        f"\nIdempotent: {'yes' if doc['idempotent'] else 'NO'} (a second pass changes nothing).")
