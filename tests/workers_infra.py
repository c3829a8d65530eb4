"""Real Redis, PostgreSQL, review queue and `cocci-bot worker` processes on loopback, for the
scale-out tests and bench/bench_workers.py. Throwaway data dirs; everything stopped on exit."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from bot_setup import BOT, ROOT, free_port


def wait_for(what: str, ready, timeout: float = 60.0, proc: subprocess.Popen | None = None,
             log: Path | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({proc.returncode}): "
                               f"{log.read_text()[-2000:] if log else ''}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready within {timeout} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """`sig` to the main process (a Celery worker's warm shutdown lets its pool finish), then
    SIGKILL to whatever is left of its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)   # nothing of the group outlives the test


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """Debian's redis-server on a free loopback port, no persistence; yields its URL."""
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server missing: run deploy/setup.sh (apt package redis-server)")
    port = free_port()
    folder = tmp / "redis"
    folder.mkdir()
    log = folder / "redis.log"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no", "--logfile", str(log)],
                            start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for("redis-server", lambda: redis.Redis.from_url(url).ping(), proc=proc, log=log)
        yield url
    finally:
        stop(proc)


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (Debian's package) on a free loopback port; yields the URL
    of database `cocci` (user cocci, trust auth), as deploy/test-review-pg.sh does."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins or not (bins[-1] / "initdb").exists():
        raise RuntimeError("PostgreSQL missing: run deploy/setup.sh (apt package postgresql)")
    # under /tmp itself: the postgres user cannot enter pytest's per-user temp dirs
    bindir, folder, port = bins[-1], Path(tempfile.mkdtemp(prefix="cocci-pg.")), free_port()
    as_pg: list[str] = []
    if os.getuid() == 0:    # postgres refuses to run as root
        shutil.chown(folder, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run([*as_pg, str(bindir / "initdb"), "-D", str(data), "-U", "cocci", "-A", "trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
    ctl = [*as_pg, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*ctl, "-w", "-t", "60", "-l", str(folder / "postgres.log"), "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True, timeout=90)
    try:
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                        "cocci", "cocci"], check=True, capture_output=True, timeout=60)
        yield f"postgres://cocci@127.0.0.1:{port}/cocci"
    finally:
        subprocess.run([*ctl, "stop", "-m", "immediate", "-w"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def review_queue(data: Path, database_url: str, projects: list[str]) -> Iterator[tuple[str, str]]:
    """`cocci-bot serve` on PostgreSQL (as deployed), with projects and a bot token."""
    env = {**os.environ, "DATABASE_URL": database_url}
    dd = ["--data-dir", str(data)]
    for name in projects:
        subprocess.run([*BOT, "serve", "--create-project", name, *dd], check=True, env=env,
                       capture_output=True, timeout=300, cwd=ROOT)
    token = subprocess.run([*BOT, "serve", "--create-token", "bot", "cocci", *dd], check=True,
                           env=env, capture_output=True, text=True, timeout=120,
                           cwd=ROOT).stdout.split()[-1]
    port = free_port()
    log = data / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*BOT, "serve", "--host", "127.0.0.1", "--port", str(port), *dd],
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("review queue", lambda: requests.get(f"{url}/api/1.2/", timeout=2).ok,
                 timeout=120, proc=proc, log=log)
        yield url, token
    finally:
        stop(proc)


def start_worker(cfg: Path, data: Path, log: Path, queues: str = "apply,post",
                 concurrency: int = 1, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`cocci-bot worker` as a process of its own (its own session: killpg reaches all of it)."""
    with log.open("w") as out:
        return subprocess.Popen([*BOT, "worker", "--config", str(cfg), "--data-dir", str(data),
                                 "--queues", queues, "--concurrency", str(concurrency)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})}, cwd=ROOT)


def series(url: str) -> list[dict]:
    out, page = [], f"{url}/api/1.2/series/?per_page=250"
    while page:
        rsp = requests.get(page, timeout=30)
        rsp.raise_for_status()
        out += rsp.json()
        page = rsp.links.get("next", {}).get("url")
    return out
