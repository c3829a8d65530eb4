"""The review queue the main job posts to: a configured URL, or the embedded one.

The embedded queue is `cocci-bot serve` on a free loopback port with the data
dir's SQLite database, started only when there is something to post and
stopped (its whole process group) when the run ends; the series stay in the
database for the next `cocci-bot serve`.

The bot's own token for the embedded queue is created once and kept in
DATA_DIR/bot-token (mode 0600); every run reuses it, and a token the queue refuses
(revoked with `serve --revoke-token`, or a fresh database) is replaced by a new one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from pathlib import Path

import requests

from bot import defaults, proc
from bot.errors import InfraError, QueueUnreachable, UserError
from bot.pipeline.config import Config

log = logging.getLogger("bot.run")


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
            self._got = self._configured() if self.cfg.queue.url else self._embedded()
        return self._got

    def _configured(self) -> tuple[str, str]:
        token = os.environ.get(self.cfg.queue.token_env, "")
        if not token:
            raise UserError(f"queue {self.cfg.queue.url} is configured but ${self.cfg.queue.token_env} "
                            "is empty: export a bot token (cocci-bot serve --create-token bot NAME)")
        return self.cfg.queue.url, token

    def _embedded(self) -> tuple[str, str]:
        me = [sys.executable, "-m", "bot"]
        data = ["--data-dir", str(self.data_dir)]
        for tree in self.cfg.trees:   # one project per watched tree
            proc.run([*me, "serve", "--create-project", tree.name, *data], timeout=120)
        log_file = self.data_dir / "review" / "serve.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # serve's own port when free; if another program takes it between the look and the
        # bind, the server exits and the next try takes any free port
        for preferred in (defaults.REVIEW_PORT, 0, 0):
            url = f"http://127.0.0.1:{free_port(preferred)}"
            server = self._stack.enter_context(proc.spawn(
                [*me, "serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], *data],
                stdout=log_file))
            try:
                wait_ready(url, server, log_file)
            except ServerExited as exc:
                log.info("run: %s; trying another port", exc)
                continue
            return url, bot_token(self.data_dir, url)
        raise InfraError(f"the embedded review queue could not start (3 tries); see {log_file}")


class ServerExited(InfraError):
    """The embedded queue's server ended before it answered."""


def token_file(data_dir: Path) -> Path:
    return data_dir / defaults.BOT_TOKEN_FILE


def bot_token(data_dir: Path, url: str) -> str:
    """The bot's token in the data dir, when the queue at `url` takes it; else a new one."""
    path = token_file(data_dir)
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        token = path.read_text().strip()
        if token and token_accepted(url, token):
            return token
        log.info("run: the queue refused the token in %s: creating a new one", path)
    token = proc.run([sys.executable, "-m", "bot", "serve", "--create-token", "bot",
                      defaults.BOT_NAME, "--data-dir", str(data_dir)],
                     timeout=120).stdout.strip().splitlines()[-1]
    write_secret(path, token)
    return token


def token_accepted(url: str, token: str) -> bool:
    """The queue authenticates every request that carries a token: 401/403 means refused."""
    try:
        rsp = requests.get(f"{url}/api/1.2/projects/", timeout=defaults.TIMEOUT_HTTP,
                           headers={"Authorization": f"Token {token}"})
    except requests.RequestException as exc:
        raise QueueUnreachable(f"the review queue at {url} did not answer: {exc}") from exc
    return rsp.status_code not in (401, 403)


def write_secret(path: Path, text: str) -> None:
    """`text` in `path`, mode 0600 from the start, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


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


def wait_ready(url: str, server, log_file: Path, deadline: float = 60.0) -> None:
    """Until `server` (a process group) listens on the URL's port and answers. Another program
    that took the port first answers too: only a listening socket of our group counts."""
    port = int(url.rsplit(":", 1)[1])
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            raise ServerExited(f"the embedded review queue exited ({server.returncode}); "
                               f"see {log_file}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/api/1.2/", timeout=2).status_code == 200 and \
                    listens(server.pid, port):
                return
        time.sleep(0.3)
    raise InfraError(f"the embedded review queue did not answer within {deadline:g} s; see {log_file}")


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (TCP, IPv4 and IPv6), from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def listens(pgid: int, port: int) -> bool:
    """Whether a process of the group `pgid` holds a socket listening on `port`."""
    wanted = {f"socket:[{i}]" for i in _listening_inodes(port)}
    if not wanted:
        return False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                return True
        except OSError:
            continue
    return False
