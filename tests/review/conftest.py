"""Review queue fixtures: API clients with real tokens on the test database, and a real
gunicorn (`cocci-bot serve`) on loopback with its own data dir for git-pw, the browser, post."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from review_fixtures import add_build_boot, make_outdir

from bot import defaults, proc

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project(db):
    from bot.review.models import Project

    return Project.objects.create(link_name="debian-linux", name="debian-linux",
                                  list_id="debian-linux.cocci-bot",
                                  list_email="debian-linux@cocci-bot.invalid")


def _client(role: str, name: str):
    from rest_framework.test import APIClient

    from bot.review.auth import create_token

    client = APIClient()
    person = (f"{name.title()} Maintainer", f"{name}@example.org") \
        if role == "maintainer" else None
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(role, name, person=person)}")
    return client


@pytest.fixture
def bot_api(db):
    return _client("bot", "cocci")


@pytest.fixture
def maintainer_api(db):
    return _client("maintainer", "maint")


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    out = make_outdir(tmp_path)
    add_build_boot(out)
    return out


@dataclass
class LiveQueue:
    url: str
    data_dir: Path
    bot_token: str
    maintainer_token: str
    maintainer: str = "maint"
    password: str = PASSWORD

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> proc.Result:
        return proc.run([sys.executable, "-m", "bot", *args], input=input, check=check,
                        timeout=120, env=_isolated_env(self.data_dir))


def _isolated_env(data_dir: Path) -> dict[str, str]:
    home = data_dir / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share"), "GIT_CONFIG_NOSYSTEM": "1"}
    db_url = (data_dir / "database_url")
    if db_url.is_file():
        env["DATABASE_URL"] = db_url.read_text().strip()
    return env


def _own_database(data_dir: Path) -> None:
    """With DATABASE_URL (the PostgreSQL job), every live queue gets a fresh database."""
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        return
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    name = f"cocci_live_{data_dir.name.replace('-', '_')}"
    with psycopg.connect(host=cfg["HOST"], port=cfg["PORT"], user=cfg["USER"],
                         password=cfg["PASSWORD"] or None, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    (data_dir / "database_url").write_text(url.rsplit("/", 1)[0] + "/" + name)


def _wait_ready(url: str, server) -> None:
    deadline = time.monotonic() + defaults.REVIEW_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"cocci-bot serve exited with {server.returncode}")
        try:
            if requests.get(url + "/api/1.2/", timeout=2).status_code < 500:  # 400: Host not the --base-url's
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"cocci-bot serve did not answer within {defaults.REVIEW_START_TIMEOUT}s")


@contextlib.contextmanager
def start_queue(data_dir: Path, *serve_args: str) -> Iterator[LiveQueue]:
    """A real `cocci-bot serve` (gunicorn) on 127.0.0.1, a project, bot and maintainer tokens."""
    _own_database(data_dir)
    port = free_port()
    q = LiveQueue(f"http://127.0.0.1:{port}", data_dir, "", "")
    q.cli("serve", "--data-dir", str(data_dir), "--create-project", "debian-linux")
    q.bot_token = q.cli("serve", "--data-dir", str(data_dir), "--create-token", "bot",
                        "cocci").stdout.strip()
    q.maintainer_token = q.cli("serve", "--data-dir", str(data_dir), "--create-token",
                               "maintainer", q.maintainer, "--password-stdin",
                               "--name", "Maint Tainer", "--email", "maint@example.org",
                               input=PASSWORD + "\n").stdout.strip()
    argv = [sys.executable, "-m", "bot", "serve", "--data-dir", str(data_dir), "--port",
            str(port), "--workers", "2", "--threads", "8", *serve_args]
    env = {**os.environ, **_isolated_env(data_dir)}
    with proc.spawn(argv, env=env, stdout=data_dir / "serve.log") as server:
        _wait_ready(q.url, server)
        yield q


@pytest.fixture(scope="session")
def live_queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveQueue]:
    with start_queue(tmp_path_factory.mktemp("queue")) as q:
        yield q


@pytest.fixture(scope="session")
def posted(live_queue: LiveQueue, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One series posted to the live queue by the real `cocci-bot post` (v1 and a v2)."""
    root = tmp_path_factory.mktemp("posted")
    v1 = make_outdir(root)
    add_build_boot(v1)
    v2 = make_outdir(root, variant=" /* v2 */")
    add_build_boot(v2, boot="fail")
    urls = [live_queue.cli("post", "--queue", live_queue.url, "--token", live_queue.bot_token,
                           str(out)).stdout.strip() for out in (v1, v2)]
    return {"v1": v1, "v2": v2, "urls": urls, "tree": root / "tree",
            "ids": [int(u.rstrip("/").rsplit("/", 1)[1]) for u in urls]}
