"""Load test of the review queue: N concurrent API readers (Patchwork 1.2 lists, details, mbox)
while the bot posts series and checks, against a real `cocci-bot serve` on loopback.

Bounded in count (readers x requests each) and time (--deadline); loopback only.
Prints p50/p99 latency for list reads, detail reads (series, patch, mbox) and posts and the
error count; exit 1 on any error.

    .venv/bin/python bench/review_load.py [--readers 200 --requests 10 --posts 20]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "review"))

from bot import proc  # noqa: E402
from bot.post import outdir as od  # noqa: E402
from bot.post.client import QueueClient  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {"list": [], "detail": [], "post": []}
        self.errors: list[str] = []

    def timed(self, kind: str, fn: Callable[[], object]) -> None:
        start = time.perf_counter()
        try:
            fn()
        except (requests.RequestException, RuntimeError, ValueError) as exc:
            with self.lock:
                self.errors.append(f"{kind}: {exc}")
            return
        with self.lock:
            self.latency[kind].append(time.perf_counter() - start)


def _get(session: requests.Session, url: str) -> None:
    rsp = session.get(url, timeout=60)
    if rsp.status_code != 200:
        raise RuntimeError(f"GET {url}: {rsp.status_code}")
    rsp.content  # noqa: B018 - read the whole body


def reader(base: str, stats: Stats, n: int, series_ids: list[int], patch_ids: list[int],
           start: threading.Barrier, deadline: float, seed: int) -> None:
    session = requests.Session()
    urls = [f"{base}/api/1.2/series/", f"{base}/api/1.2/patches/?per_page=50",
            f"{base}/api/1.2/projects/", f"{base}/api/1.2/covers/"]
    start.wait()
    for i in range(n):
        if time.monotonic() > deadline:
            break
        k = (seed + i) % 8
        sid, pid = series_ids[(seed + i) % len(series_ids)], patch_ids[(seed + i) % len(patch_ids)]
        details = [f"{base}/api/1.2/series/{sid}/", f"{base}/api/1.2/patches/{pid}/",
                   f"{base}/patch/{pid}/mbox/", f"{base}/api/1.2/patches/{pid}/checks/"]
        kind, url = ("list", urls[k]) if k < 4 else ("detail", details[k - 4])
        stats.timed(kind, lambda url=url: _get(session, url))


def bot(client: QueueClient, payload: dict, stats: Stats, posts: int, start: threading.Barrier,
        deadline: float, run_id: str) -> None:
    start.wait()
    for i in range(posts):
        if time.monotonic() > deadline:
            break
        body = {**payload, "dedupe_key": f"load-{run_id}-{i:04d}"}

        def post(body: dict = body) -> None:
            series, created = client.post_series(body)
            if not created:
                raise RuntimeError("a new dedupe key returned an existing series")
            client.post_series_check(series["id"], {"context": "build", "state": "success",
                                                    "description": "load test", "log": "ok\n"})
        stats.timed("post", post)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def wait_ready(url: str, server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if requests.get(url + "/api/1.2/", timeout=2).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise SystemExit("server did not start within 30 s")


def make_payload(root: Path) -> dict:
    from review_fixtures import make_outdir

    return od.series_payload(make_outdir(root), "debian-linux")


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="cocci-review-load-") as tmp:
        data = Path(tmp) / "data"
        env = {"HOME": tmp, "XDG_DATA_HOME": tmp, "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            return _run_in(args, Path(tmp), data)
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _run_in(args: argparse.Namespace, tmp: Path, data: Path) -> dict:
    cli = [sys.executable, "-m", "bot", "serve", "--data-dir", str(data)]
    proc.run([*cli, "--create-project", "debian-linux"])
    token = proc.run([*cli, "--create-token", "bot", "loadbot"]).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [*cli, "--port", str(port), "--workers", str(args.workers),
            "--threads", str(args.threads)]
    with proc.spawn(argv, stdout=tmp / "serve.log") as server:
        wait_ready(base, server)
        return measure(args, base, token, tmp)


def measure(args: argparse.Namespace, base: str, token: str, tmp: Path) -> dict:
    client = QueueClient(base, token)
    payload = make_payload(tmp / "fixture")
    seeded = [client.post_series({**payload, "dedupe_key": f"seed-{i:04d}"})[0]
              for i in range(args.seed)]
    series_ids = [s["id"] for s in seeded]
    patch_ids = [p["id"] for s in seeded for p in s["patches"]]
    stats = Stats()
    barrier = threading.Barrier(args.readers + 1)
    deadline = time.monotonic() + args.deadline
    threads = [threading.Thread(target=reader, args=(base, stats, args.requests, series_ids,
                                                     patch_ids, barrier, deadline, i))
               for i in range(args.readers)]
    threads.append(threading.Thread(target=bot, args=(client, payload, stats, args.posts,
                                                      barrier, deadline, str(os.getpid()))))
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    lists, details, posts = (stats.latency[k] for k in ("list", "detail", "post"))
    reads = lists + details
    return {"readers": args.readers, "reads": len(reads), "posts": len(posts),
            "errors": len(stats.errors), "first_errors": stats.errors[:5],
            "wall_s": round(wall, 2), "reads_per_s": round(len(reads) / wall, 1),
            "read_p50_ms": round(pct(reads, 50), 1), "read_p99_ms": round(pct(reads, 99), 1),
            "list_p50_ms": round(pct(lists, 50), 1), "list_p99_ms": round(pct(lists, 99), 1),
            "detail_p50_ms": round(pct(details, 50), 1),
            "detail_p99_ms": round(pct(details, 99), 1),
            "post_p50_ms": round(pct(posts, 50), 1), "post_p99_ms": round(pct(posts, 99), 1),
            "median_read_ms": round(statistics.median(reads) * 1000, 1) if reads else None,
            "expected_reads": args.readers * args.requests, "expected_posts": args.posts}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readers", type=int, default=200)
    p.add_argument("--requests", type=int, default=10, help="requests per reader")
    p.add_argument("--posts", type=int, default=20, help="series the bot posts meanwhile")
    p.add_argument("--seed", type=int, default=5, help="series posted before the readers start")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--deadline", type=float, default=120.0, help="seconds, whole run")
    args = p.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=1))
    complete = (result["reads"] == result["expected_reads"]
                and result["posts"] == result["expected_posts"])
    print(f"review-load: {'PASS' if not result['errors'] and complete else 'FAIL'} "
          f"{result['readers']} readers, {result['reads']} reads p50 {result['read_p50_ms']} ms "
          f"p99 {result['read_p99_ms']} ms (list p50 {result['list_p50_ms']} p99 "
          f"{result['list_p99_ms']} ms, detail p50 {result['detail_p50_ms']} p99 "
          f"{result['detail_p99_ms']} ms), {result['posts']} posts p50 "
          f"{result['post_p50_ms']} ms p99 {result['post_p99_ms']} ms, "
          f"{result['errors']} errors in {result['wall_s']} s")
    return 0 if not result["errors"] and complete else 1


if __name__ == "__main__":
    sys.exit(main())
