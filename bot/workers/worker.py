"""`cocci-bot worker`: start a Celery worker on the configured broker, or check on one."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from pathlib import Path

from celery.signals import worker_ready

from bot import defaults
from bot.errors import BrokerUnreachable, InfraError, UserError
from bot.pipeline import config, reaper
from bot.pipeline.database import redact
from bot.pipeline.store import Store, location
from bot.workers import app as celery_app
from bot.workers import heartbeat, stages

log = logging.getLogger("bot.workers")


def load(path: Path) -> config.Config:
    """bot.toml with a [workers] broker and a shared review queue, else a UserError."""
    cfg = config.load(path)
    if cfg.workers is None:
        raise UserError(f"{path} has no [workers] section: add [workers] broker = "
                        "\"redis://127.0.0.1:6379/0\" (without it `cocci-bot run` runs inline)")
    if not cfg.queue.url:
        raise UserError(f"{path}: workers post to one shared review queue: set [queue] url "
                        "(the embedded queue lives in one data dir)")
    return cfg


def queues(text: str) -> list[str]:
    names = [q.strip() for q in text.split(",") if q.strip()]
    bad = [q for q in names if q not in defaults.WORKER_QUEUES]
    if bad or not names:
        raise UserError(f"--queues {text!r}: use some of {','.join(defaults.WORKER_QUEUES)}")
    return names


def main(args: argparse.Namespace) -> int:
    cfg = load(args.config)
    assert cfg.workers is not None
    app = celery_app.make(cfg.workers)
    if args.check:
        return check(app, cfg, args.data_dir)
    if args.ping:
        return ping(app)
    names = queues(args.queues)
    if args.concurrency < 1:
        raise UserError("--concurrency takes a positive number of stages")
    celery_app.WORKER = stages.Worker(cfg, args.data_dir)
    stages.host_id(args.data_dir)
    reaper.reap(args.data_dir)   # what a SIGKILLed worker on this data dir left running
    reaper.mark(args.data_dir)   # every program a stage starts carries this worker's mark
    # once the pool's processes are forked: this process looks for dead workers' jobs
    worker_ready.connect(lambda **_: heartbeat.start_rescuer(
        location(cfg, args.data_dir), lambda job, stage: celery_app.send(app, job, stage)),
        weak=False)
    node = f"cocci-bot-{'-'.join(names)}-{os.getpid()}@{socket.gethostname()}"
    log.info("worker: %s on %s, queues %s, concurrency %d", node, redact(cfg.workers.broker),
             ",".join(names), args.concurrency)
    try:
        app.worker_main(["worker", "--queues", ",".join(names), "--concurrency",
                         str(args.concurrency), "--hostname", node, "--loglevel", "INFO",
                         "--without-gossip", "--without-mingle"])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def check(app, cfg: config.Config, data_dir: Path) -> int:
    """The broker and the job store answer (the watcher's health check)."""
    assert cfg.workers is not None
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=defaults.WORKER_PING_TIMEOUT)
    except Exception as exc:   # kombu raises the transport's own errors
        raise BrokerUnreachable(f"broker {redact(cfg.workers.broker)} unreachable: {exc}: is Redis "
                         "running?") from exc
    Store(location(cfg, data_dir))
    log.info("worker: broker and job store answer")
    return 0


def ping(app) -> int:
    """A worker on this host answers (the workers' health check)."""
    here = f"@{socket.gethostname()}"
    replies = app.control.ping(timeout=defaults.WORKER_PING_TIMEOUT)
    nodes = [name for reply in replies for name in reply if name.endswith(here)]
    if not nodes:
        raise InfraError(f"no cocci-bot worker on {here[1:]} answered within "
                         f"{defaults.WORKER_PING_TIMEOUT} s")
    log.info("worker: %s answered", ", ".join(sorted(nodes)))
    return 0

