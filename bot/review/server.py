"""gunicorn, embedded: a production WSGI server (pre-fork workers, threads, timeouts)."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from bot import defaults

log = logging.getLogger(__name__)


class _App(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from bot.review.wsgi import application

        return application


def serve(host: str, port: int, workers: int, threads: int) -> int:
    """Serve until SIGINT/SIGTERM; returns gunicorn's exit status."""
    from django.db import connections

    connections.close_all()  # workers fork: never share the master's connection
    log.info("serve: http://%s:%d/ (%d workers x %d threads)", host, port, workers, threads)
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
               "worker_class": "gthread", "timeout": defaults.REVIEW_REQUEST_TIMEOUT,
               "graceful_timeout": 5, "accesslog": None, "errorlog": "-", "loglevel": "warning",
               "proc_name": "cocci-bot-review", "backlog": 512}
    try:
        _App(options).run()
    except SystemExit as exc:  # gunicorn's arbiter ends with sys.exit
        return int(exc.code or 0)
    return 0
