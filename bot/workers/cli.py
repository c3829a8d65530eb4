"""`cocci-bot worker`: run the pipeline's stages queued by `cocci-bot run` (Celery on Redis).

Needs a bot.toml with [workers] broker = "redis://...". Each stage is a task on the queue of
its name (drafts on post), so a host takes only the queues it can serve: build on big hosts,
boot where KVM works. --ping asks this host's workers to answer, --check only proves the
broker and the job store are reachable (health checks).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import defaults
from bot.pipeline import executors

# `cocci-bot run` with [workers]: the loop hands jobs to this executor (imported when chosen)
executors.register("workers", "bot.workers.enqueue:Enqueuer")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("worker", parents=[common], help="run queued stages (Celery worker)",
                       description=__doc__)
    p.add_argument("--config", type=Path, required=True, help="bot.toml with [workers] broker")
    p.add_argument("--queues", default=",".join(defaults.WORKER_QUEUES),
                   help="comma-separated queues to take stages from (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=defaults.WORKER_CONCURRENCY,
                   help="stages run at once (default: %(default)s)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--ping", action="store_true",
                      help="exit 0 if a worker on this host answers (health check)")
    what.add_argument("--check", action="store_true",
                      help="exit 0 if the broker and the job store answer (health check)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.workers import worker  # optional heavy: Celery, imported when a worker starts

    return worker.main(args)
