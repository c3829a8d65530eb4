"""The review queue the main job posts to: a configured URL, or the embedded one.

The embedded queue is `cocci-bot serve` on a free loopback port with the data
dir's SQLite database, started only when there is something to post and
stopped (its whole process group) when the run ends; the series stay in the
database for the next `cocci-bot serve`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from pathlib import Path

import requests

from bot import defaults, proc
from bot.errors import InfraError, UserError
from bot.pipeline.config import Config


class Queue:
    def __init__(self, cfg: Config, data_dir: Path):
        self.cfg = cfg
        self.data_dir = data_dir
        self._stack = contextlib.ExitStack()
        self._got: tuple[str, str] | None = None

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def __call__(self) -> tuple[str, str]:
        """(url, token), starting the embedded queue on first use."""
        if self._got is None:
            self._got = self._configured() if self.cfg.queue_url else self._embedded()
        return self._got

    def _configured(self) -> tuple[str, str]:
        token = os.environ.get(self.cfg.token_env, "")
        if not token:
            raise UserError(f"queue {self.cfg.queue_url} is configured but ${self.cfg.token_env} "
                            "is empty: export a bot token (cocci-bot serve --create-token bot NAME)")
        return self.cfg.queue_url, token

    def _embedded(self) -> tuple[str, str]:
        try:
            return self._embedded_on(free_port())
        except InfraError:   # the preferred port was taken between the probe and the bind
            return self._embedded_on(free_port(0))

    def _embedded_on(self, port: int) -> tuple[str, str]:
        url = f"http://127.0.0.1:{port}"
        me = [sys.executable, "-m", "bot"]
        data = ["--data-dir", str(self.data_dir)]
        token = proc.run([*me, "serve", "--create-token", "bot", defaults.BOT_NAME, *data],
                         timeout=120).stdout.strip().splitlines()[-1]
        for tree in self.cfg.trees:   # one project per watched tree
            proc.run([*me, "serve", "--create-project", tree.name, *data], timeout=120)
        log_file = self.data_dir / "review" / "serve.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        server = self._stack.enter_context(proc.spawn(
            [*me, "serve", "--host", "127.0.0.1", "--port", str(port), *data], stdout=log_file))
        wait_ready(url, server, log_file, token=token)
        return url, token


def free_port(preferred: int = defaults.REVIEW_PORT) -> int:
    """`cocci-bot serve`'s own port when it is free (so printed URLs stay valid), else any."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise InfraError("no free TCP port on 127.0.0.1 for the embedded review queue")


def wait_ready(url: str, server, log_file: Path, deadline: float = 60.0,
               token: str | None = None) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            raise InfraError(f"the embedded review queue exited ({server.returncode}); "
                             f"see {log_file}")
        with contextlib.suppress(requests.RequestException):
            # answered, and by ours (it knows our token: another queue may hold the port ours
            # failed to bind)
            headers = {"Authorization": f"Token {token}"} if token else {}
            if requests.get(f"{url}/api/1.2/", timeout=2, headers=headers).status_code == 200 \
                    and server.poll() is None:
                return
        time.sleep(0.3)
    raise InfraError(f"the embedded review queue did not answer within {deadline:g} s; see {log_file}")
