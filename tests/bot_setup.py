"""What the bot's end-to-end tests (tests/e2e, tests/integration) and bench/bench_workers.py set
up again and again, written once:

- `bot_toml`: a bot.toml for one git tree (by path or url), the checks off unless asked, and
  optional [queue], [mail] (a loopback SMTP server) and [workers] sections;
- `run_argv` / `run`: `cocci-bot run` on that config and a data dir (`run` in-process);
- `run_json`: a job's run.json;
- `embedded_queue` / `queue_series`: the embedded review queue of a data dir, opened again;
- `maintainer_token` / `set_state` / `accept`: a maintainer's decision through the queue's API
  (a real token, a real server) - the step between "run" and "the run that writes drafts";
- `smtp_server`: a loopback SMTP server (aiosmtpd) that keeps what it receives;
- `git`, `free_port`, `BOT`: the small things every one of them needs.

None of this checks what a test is about: the only assertion, in `set_state`, is that the queue
took the decision."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
BOT = [sys.executable, "-m", "bot"]


def git(repo: Path, *args: str, input: str | None = None) -> str:
    """`git -C repo args...`; its stdout, stripped. Fails on a non-zero exit."""
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, input=input).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- bot.toml --------------------------------------------------------------------------------

def _value(v: str | int | bool | Path) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))   # a JSON string is a TOML basic string


def _table(header: str, values: Mapping[str, str | int | bool | Path | None]) -> str:
    lines = [f"{k} = {_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join([header, *lines]) + "\n"


def bot_toml(path: Path, tree: Path | None = None, *, url: str | None = None,
             name: str = "small-linux", tags: str = "v5.10.*", since: str | None = None,
             build: bool = False, boot: bool = False, queue: str | None = None,
             token_env: str = "TEST_QUEUE_TOKEN", mail_port: int | None = None,
             workers: Mapping[str, str | int | Path] | None = None) -> Path:
    """Write `path`: one git tree `name` (a local `tree`, or `url`) following `tags` (from
    `since`), [checks] build/boot, then only what is asked for: [queue] at `queue` with its
    token in $`token_env` (none: the embedded queue), [mail] sending to 127.0.0.1:`mail_port`
    without TLS to anyone ("*@*") at once, [workers] with the keys given. Returns `path`."""
    if (tree is None) == (url is None):
        raise ValueError("bot_toml: give the tree's path or its url, not both")
    parts = [_table("[[tree]]", {"name": name, "source": "git", "path": tree, "url": url,
                                 "tags": tags, "since": since}),
             _table("[checks]", {"build": build, "boot": boot})]
    if queue is not None:
        parts.append(_table("[queue]", {"url": queue, "token_env": token_env}))
    if mail_port is not None:
        parts.append(_table("[mail]", {"send": True, "host": "127.0.0.1", "port": mail_port,
                                       "tls": "none"}))
        parts.append(_table("[[mail.list]]", {"address": "*@*", "embargo_hours": 0}))
    if workers is not None:
        parts.append(_table("[workers]", workers))
    path.write_text("\n".join(parts))
    return path


# --- running the bot and reading what it did -------------------------------------------------

def run_argv(cfg: Path, data: Path, *more: str) -> list[str]:
    """`cocci-bot run`'s arguments (prefix BOT for a process of its own)."""
    return ["run", "--config", str(cfg), "--data-dir", str(data), *more]


def run(cfg: Path, data: Path, *more: str) -> int:
    """`cocci-bot run` in this process; its exit code."""
    from bot import cli

    return cli.main(run_argv(cfg, data, *more))


def run_json(data: Path, job: int = 1) -> dict:
    return json.loads((data / "runs" / str(job) / "run.json").read_text())


# --- the embedded review queue ---------------------------------------------------------------

@contextlib.contextmanager
def embedded_queue(data: Path) -> Iterator[str]:
    """The embedded review queue of data dir `data` (its database as the runs left it), up
    for the block; yields its URL."""
    from bot.pipeline.config import Config
    from bot.pipeline.queue import Queue

    with Queue(Config(), data) as q:
        url, _bot_token = q()
        yield url


def queue_series(data: Path) -> list[dict]:
    """The series in the embedded queue's database, read through its own API."""
    with embedded_queue(data) as url:
        return requests.get(f"{url}/api/1.2/series/", timeout=30).json()


MAINTAINER = ("Alice Maintainer", "alice@example.org")   # whom `alice` signs off as


def maintainer_token(data: Path, *identity: str) -> str:
    """A new API token of maintainer `alice` in the embedded queue's database, with the real
    name and e-mail a sign-off needs (`identity` replaces those options: () for none)."""
    person = list(identity) if identity else ["--name", MAINTAINER[0], "--email", MAINTAINER[1]]
    return subprocess.run([*BOT, "serve", "--create-token", "maintainer", "alice", *person,
                           "--data-dir", str(data)], check=True, capture_output=True,
                          text=True, timeout=120).stdout.split()[-1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def set_state(url: str, token: str, series_id: int, state: str = "accepted") -> None:
    """A maintainer sets the series' state through the queue's API; the queue must take it."""
    rsp = requests.post(f"{url}/api/cocci/series/{series_id}/state/", timeout=30,
                        json={"state": state}, headers=auth(token))
    assert rsp.status_code == 200, rsp.text


def accept(data: Path, series_id: int) -> None:
    """A maintainer accepts the series in the embedded queue of `data` (the next run drafts)."""
    token = maintainer_token(data)
    with embedded_queue(data) as url:
        set_state(url, token, series_id, "accepted")


# --- a loopback SMTP server ------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps every mail: (envelope sender, recipients, content)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class _Handler(Protocol):
    async def handle_DATA(self, server, session, envelope): ...


H = TypeVar("H", bound=_Handler)


@contextlib.contextmanager
def smtp_server(handler: H) -> Iterator[tuple[int, H]]:
    """An SMTP server on a free loopback port handing mails to `handler`; yields (port,
    handler) and stops on leaving the block."""
    from aiosmtpd.controller import Controller

    ctl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        yield ctl.port, handler
    finally:
        ctl.stop()
