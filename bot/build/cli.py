"""`cocci-bot build --tree DIR --rev REV [--base REV] --out OUTDIR` (see bot/build/run.py)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot import defaults


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("build", parents=[common], help="build the base and the patched kernel",
                       description="Build the base and the patched kernel from a config "
                       "fragment (tuxmake, ccache, O= dirs), report new warnings and compile "
                       "coverage in OUTDIR/build.json. Exit 0 PASS, 1 FAIL.")
    p.add_argument("--tree", type=Path, required=True, help="kernel git tree")
    p.add_argument("--rev", required=True, help="the patched commit (top of the series)")
    p.add_argument("--base", default=None, help="the commit the series sits on (default: "
                   "the first parent below the bot's own commits)")
    p.add_argument("--out", type=Path, required=True, help="output directory (build.json)")
    p.add_argument("--campaign", default=defaults.CAMPAIGN,
                   help="campaign whose kernel.config fragment to use (default: "
                   f"{defaults.CAMPAIGN})")
    p.add_argument("--fragment", type=Path, default=None,
                   help="config fragment file (overrides --campaign)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="where the source checkout and O= dirs live (default: "
                   "DATA_DIR/build-work)")
    p.add_argument("-j", "--jobs", type=int, default=defaults.BUILD_JOBS)
    p.add_argument("--no-nfc", dest="nfc", action="store_false",
                   help="skip the proof of the steps' \"no functional change\" claims "
                   "(build.json `nfc`)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.build import run as build_run
    from bot.sigterm import sigterm_as_interrupt

    campaign = defaults.project_root() / "semantic_patches" / args.campaign
    fragment = args.fragment or (campaign / defaults.BUILD_FRAGMENT)
    opts = build_run.Options(tree=args.tree, rev=args.rev, base=args.base, out=args.out,
                             work_dir=args.work_dir or args.data_dir / "build-work",
                             fragment=fragment, jobs=args.jobs, nfc=args.nfc,
                             manifest=campaign / "manifest.toml")
    with sigterm_as_interrupt():
        record = build_run.build(opts)
    logging.getLogger("bot.build").info("%s", build_run.summary(record))
    return build_run.exit_code(record)
