"""`cocci-bot run`: the main job — watch the configured trees and run each new release.

With no --config it runs on embedded defaults: the Debian 5.10 release in
bot.pipeline.config, the kvm-refcounted-pfn campaign, a local worker, SQLite
state in the data dir, and the embedded review queue.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import time
from pathlib import Path

from bot.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK, CocciBotError, UserError
from bot.sigterm import sigterm_as_interrupt

log = logging.getLogger("bot.run")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="the main job: watch trees, run new releases",
                       description=__doc__)
    p.add_argument("--config", type=Path, default=None, help="bot.toml (default: embedded)")
    p.add_argument("--no-build", action="store_true", help="skip the build and boot stages")
    p.add_argument("--no-boot", action="store_true", help="skip the boot stage")
    p.add_argument("--queue", default=None, help="review queue URL (default: config / embedded)")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS",
                   help="keep watching: run again every SECONDS (new releases, pending reviews)"
                   " until interrupted")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.pipeline import config

    cfg = config.load(args.config)
    cfg = dataclasses.replace(cfg, build=cfg.build and not args.no_build,
                              boot=cfg.boot and not (args.no_boot or args.no_build),
                              queue_url=args.queue if args.queue is not None else cfg.queue_url)
    if args.watch is not None and args.watch <= 0:
        raise UserError("--watch takes a positive number of seconds, e.g. --watch 3600")
    with sigterm_as_interrupt():
        try:
            return _loop(cfg, args)
        except KeyboardInterrupt as exc:
            if str(exc) != f"signal {int(signal.SIGTERM)}":
                raise
            log.info("run: stopped by SIGTERM (the current stage's state is recorded)")
            return EXIT_OK


def _loop(cfg, args: argparse.Namespace) -> int:
    from bot.pipeline import runner

    while True:
        try:
            if cfg.workers is not None:   # [workers] broker: queue stages for `cocci-bot worker`
                from bot.workers import enqueue

                worst = cycle(enqueue.run_all(cfg, args.data_dir,
                                              honour_backoff=args.watch is not None))
            else:
                worst = cycle(runner.run_all(cfg, args.data_dir,
                                             honour_backoff=args.watch is not None))
        except CocciBotError as exc:
            if args.watch is None or isinstance(exc, UserError):
                raise
            log.warning("run: this cycle stopped: %s (next cycle in %g s)", exc, args.watch)
            worst = exc.exit_code
        if args.watch is None:
            return worst
        log.info("run: next look in %g s (Ctrl-C stops)", args.watch)
        time.sleep(args.watch)


def cycle(results: list[tuple[str, int]]) -> int:
    """Log one line per job; the worst exit code of the cycle."""
    worst = EXIT_OK
    for line, code in results:
        log.info("%s", line)
        worst = max(worst, code)
    if not results:
        log.info("run: nothing new")
    return worst if worst in (EXIT_OK, EXIT_FAILED) else EXIT_INFRA
