"""`cocci-bot apply --tree DIR --campaign NAME [--rev REV] --out OUTDIR`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot import defaults
from bot.errors import EXIT_FAILED, EXIT_OK

log = logging.getLogger("bot.apply")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("apply", parents=[common], help="run a campaign of semantic patches on a tree",
                       description="Run a campaign on a kernel git tree: one commit per step on "
                       "the bot's own branch, OUTDIR/series/*.patch and OUTDIR/report.json.")
    p.add_argument("--tree", type=Path, required=True, help="kernel git tree (not modified)")
    p.add_argument("--campaign", required=True, help="campaign name (semantic_patches/NAME)")
    p.add_argument("--rev", default="HEAD", help="base revision (default: HEAD)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--tree-name", default=None,
                   help="the project name the review queue files the series under "
                   "(default: the tree's directory name)")
    p.add_argument("--tree-kind", choices=("stable", "mainline"), default=None,
                   help="what the tree is: stable (a point release x.y.z of a maintained "
                   "line) or mainline (default: stable when the base is a tag vX.Y.Z)")
    p.add_argument("--jobs", "-j", type=int, default=defaults.SPATCH_JOBS, help="spatch jobs")
    p.add_argument("--file-timeout", type=int, default=defaults.TIMEOUT_SPATCH_FILE,
                   help="spatch per-file timeout in seconds")
    p.add_argument("--bot-name", default=None,
                   help="the series' author, committer and first Signed-off-by (with "
                   "--bot-email; default: the bot, 'cocci-bot (CAMPAIGN campaign)', "
                   "signing nothing: the approving maintainer signs the drafts off)")
    p.add_argument("--bot-email", default=None,
                   help="their e-mail, an address someone reads (with --bot-name)")
    p.set_defaults(func=run)


def _ident(args: argparse.Namespace) -> tuple[str, str] | None:
    if args.bot_name is None and args.bot_email is None:
        return None      # the bot authors the series (bot.apply.identity)
    return (args.bot_name or "", args.bot_email or "")


def run(args: argparse.Namespace) -> int:
    from bot.apply.stage import Options, apply

    doc = apply(Options(tree=args.tree, campaign=args.campaign, out=args.out,
                        data_dir=args.data_dir, rev=args.rev, jobs=args.jobs,
                        file_timeout=args.file_timeout, tree_name=args.tree_name,
                        tree_kind=args.tree_kind,
                        ident=_ident(args)))
    commits = sum(1 for s in doc["steps"] if s["commit"])
    if doc["nothing_to_do"]:
        log.info("apply: PASS nothing to do (no %s in %s) in %.1f s",
                 doc["requires"], doc["rev"], doc["seconds"])
        return EXIT_OK
    claims = doc.get("claims", {})
    for failed in claims.get("failed", []):     # a message the claim check cannot prove
        log.error("apply: claim not proved in %s: %s: \"%s\"", failed["message"],
                  failed["why"], failed["sentence"])
    log.info("apply: %s %d commits, %d sites, idempotent=%s in %.1f s -> %s",
             doc["status"], commits, len(doc["sites"]), doc["idempotent"], doc["seconds"],
             args.out / "report.json")
    return EXIT_OK if doc["status"] == "PASS" else EXIT_FAILED
