"""gunicorn, embedded: a production WSGI server (pre-fork workers, threads, timeouts)."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from bot import defaults
from bot.errors import InfraError

log = logging.getLogger(__name__)
# settings older gunicorns lack; without them the option means nothing there
OPTIONAL = frozenset({"control_socket_disable"})


class _App(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings or key not in OPTIONAL:
                self.cfg.set(key, value)

    def load(self):
        from bot.review.wsgi import application

        return application


def check_port(host: str, port: int) -> None:
    """Fail early, with the fix, when the address is taken (gunicorn would retry, then exit 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise InfraError(f"cannot listen on {host}:{port}: {exc.strerror}; "
                             "pick another --port or stop what uses it") from exc


def serve(host: str, port: int, workers: int, threads: int, hooks: list | None = None) -> int:
    """Serve until SIGINT/SIGTERM; returns gunicorn's exit status. Webhooks are delivered by
    threads of this (the master) process, never by a request."""
    from django.conf import settings
    from django.db import connections

    from bot.review import webhooks

    check_port(host, port)
    directory = Path(settings.DATA_DIR) / "webhooks"
    deliverer = webhooks.start(hooks or [], directory,
                               settings.BASE_URL or f"http://{host}:{port}")

    connections.close_all()  # workers fork: never share the master's connection
    log.info("serve: http://%s:%d/ (%d workers x %d threads)", host, port, workers, threads)
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
               "worker_class": "gthread", "timeout": defaults.REVIEW_REQUEST_TIMEOUT,
               "graceful_timeout": 5, "accesslog": None, "errorlog": "-", "loglevel": "warning",
               "proc_name": "cocci-bot-review", "backlog": 512,
               # recent gunicorns (27 here) open ~/.gunicorn/gunicorn.ctl: two queues of one
               # account (tests, a staging copy) would share it
               "control_socket_disable": True}
    if os.environ.get("COCCI_REVIEW_TRUSTED_PROXY") != "1":
        # gunicorn believes X-Forwarded-Proto from 127.0.0.1 by default: only a configured
        # proxy may say the scheme (Django's settings follow the same switch)
        options.update(forwarded_allow_ips="", secure_scheme_headers={})
    try:
        _App(options).run()
    except SystemExit as exc:  # gunicorn's arbiter ends with sys.exit
        return int(exc.code or 0)
    finally:
        if deliverer is not None:
            deliverer.terminate()
            deliverer.join(5)
    return 0
