"""`cocci-bot run`: the main job — watch the configured trees and run each new release.

With no --config it runs on embedded defaults: the Debian 5.10 release in
bot.pipeline.config, the kvm-refcounted-pfn campaign, a local worker, SQLite
state in the data dir, and the embedded review queue.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import EXIT_OK, CocciBotError, UserError
from bot.sigterm import sigterm_as_interrupt
from bot.status import SCHEMA

if TYPE_CHECKING:
    from bot.pipeline.config import Config
    from bot.pipeline.queue import Queue

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
    register_status(sub, common)


def run(args: argparse.Namespace) -> int:
    from bot.pipeline import config  # (as in _loop)

    cfg = config.load(args.config)
    cfg = cfg.with_overrides(build=cfg.checks.build and not args.no_build,
                             boot=cfg.checks.boot and not (args.no_boot or args.no_build),
                             queue_url=args.queue)
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


def _loop(cfg: Config, args: argparse.Namespace) -> int:
    """One cycle, or (--watch) one every SECONDS, through the executor bot.toml asks for."""
    # a subcommand loads its library when it runs: `cocci-bot --help` and the other
    # subcommands never import the stages
    from bot.pipeline import reaper, runner
    from bot.pipeline.queue import Queue

    reaper.mark(args.data_dir)   # before the first program starts: they all inherit it
    with contextlib.ExitStack() as stack:
        queue = None
        if cfg.workers is None and args.watch is not None:
            queue = stack.enter_context(Queue(cfg, args.data_dir))   # series URLs stay live
            _start_queue(cfg, args.data_dir, queue)
        executor = runner.executor(cfg, args.data_dir, stack, queue)
        if args.watch is None:
            return cycle(runner.run_all(cfg, args.data_dir, executor))
        tree_errors = runner.TreeErrors()
        while True:
            try:
                cycle(runner.run_all(cfg, args.data_dir, executor, honour_backoff=True,
                                     tree_errors=tree_errors))
            except CocciBotError as exc:
                if isinstance(exc, UserError):
                    raise
                log.warning("run: this cycle stopped: %s (next cycle in %g s)", exc, args.watch)
            log.info("run: next look in %g s (Ctrl-C stops)", args.watch)
            time.sleep(args.watch)


def _start_queue(cfg: Config, data_dir: Path, queue: Queue) -> None:
    """`run --watch` inline: the embedded queue up from the start (else when a job posts)."""
    from bot.pipeline import reaper  # (as in _loop)

    if cfg.queue.url:
        return
    reaper.reap(data_dir)   # a killed bot's queue would hold the port
    try:
        log.info("run: the review queue is at %s while this runs", queue()[0])
    except CocciBotError as exc:
        log.warning("run: the embedded review queue did not start: %s (tried again when a job "
                    "posts)", exc)


def cycle(results: list[tuple[str, int]]) -> int:
    """Log one line per job; the worst exit code of the cycle."""
    worst = EXIT_OK
    for line, code in results:
        log.info("%s", line)
        worst = max(worst, code)
    if not results:
        log.info("run: nothing new")
    return worst   # 0 all passed, 1 a check failed, 2 a configuration error, 3 an error


def register_status(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[common], help="what the bot is doing: every job",
                       description="Every job the main job knows: tree, release, campaign, "
                       "the state of each stage, why a job failed, its series URL and where "
                       "its drafts are.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--config", type=Path, default=None,
                   help="bot.toml: with [workers] database, the jobs are read from that "
                   "PostgreSQL store, as the watcher and workers keep them (default: embedded "
                   "configuration, the data dir's SQLite store)")
    p.set_defaults(func=status)


def status(args: argparse.Namespace) -> int:
    from bot.boot import history
    from bot.pipeline import config, report, store  # (as in _loop)

    where = store.location(config.load(args.config), args.data_dir)
    jobs = report.jobs(where)
    checks = history.summary(args.data_dir)
    if args.json:
        sys.stdout.write(json.dumps({"schema": SCHEMA, "data_dir": str(args.data_dir),
                                     "store": store.describe(where), "jobs": jobs,
                                     "check_history": checks}, indent=2) + "\n")
    else:
        sys.stdout.write(report.render(jobs, where) + "\n")
        if checks:
            sys.stdout.write(f"checks on this host (last {history.LAST} boots): "
                             f"{history.text(checks)}\n")
    return EXIT_OK
