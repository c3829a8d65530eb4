"""`cocci-bot run`: the main job — watch the configured trees and run each new release.

With no --config it runs on embedded defaults: the Debian 5.10 release in
bot.pipeline.config, the kvm-refcounted-pfn campaign, a local worker, SQLite
state in the data dir, and the embedded review queue.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from bot.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK

log = logging.getLogger("bot.run")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="the main job: watch trees, run new releases",
                       description=__doc__)
    p.add_argument("--config", type=Path, default=None, help="bot.toml (default: embedded)")
    p.add_argument("--no-build", action="store_true", help="skip the build and boot stages")
    p.add_argument("--no-boot", action="store_true", help="skip the boot stage")
    p.add_argument("--queue", default=None, help="review queue URL (default: config / embedded)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.pipeline import config, runner

    cfg = config.load(args.config)
    cfg = dataclasses.replace(cfg, build=cfg.build and not args.no_build,
                              boot=cfg.boot and not (args.no_boot or args.no_build),
                              queue_url=args.queue if args.queue is not None else cfg.queue_url)
    results = runner.run_all(cfg, args.data_dir)
    worst = EXIT_OK
    for line, code in results:
        log.info("%s", line)
        worst = max(worst, code)
    if not results:
        log.info("run: nothing new")
    return worst if worst in (EXIT_OK, EXIT_FAILED) else EXIT_INFRA
