"""The same batch of apply+post jobs on 1 worker and on 2 workers: wall time and the ratio.

Real parts, as in tests/integration/test_workers.py: Redis and PostgreSQL on loopback, the review
queue on PostgreSQL, `cocci-bot worker` processes (each with a data dir of its own, like two
hosts), `cocci-bot run` queuing one job per release of a small kernel-shaped tree (the
campaign's SmPL test inputs, one tag per release). The clock runs from the watcher's enqueue
to the last job's drafts stage (WAITING); set-up (databases, queue, worker start) is outside.

    .venv/bin/python bench/bench_workers.py [--releases 8] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import workers_infra as infra  # noqa: E402
from bot_setup import bot_toml, git  # noqa: E402

SMPL = ROOT / "semantic_patches" / "kvm-refcounted-pfn" / "tests"
FILES = (("02-refcounted-pfn/main.c", "virt/kvm/kvm_main.c"),
         ("02-refcounted-pfn/mmu.c", "arch/x86/kvm/mmu/mmu.c"),
         ("02-refcounted-pfn/kvm_host.h", "include/linux/kvm_host.h"))


def small_tree(where: Path, releases: int) -> Path:
    """A kernel-shaped git tree tagged v5.10.1 .. v5.10.N (one job per tag)."""
    tree = where / "linux"
    for src, dst in FILES:
        (tree / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SMPL / src, tree / dst)
    subprocess.run(["git", "init", "-q", "-b", "master", str(tree)], check=True)
    for n in range(1, releases + 1):
        (tree / "Makefile").write_text(f"SUBLEVEL = {n}\n")
        git(tree, "add", "-A")
        git(tree, "commit", "-qm", f"release {n}")
        git(tree, "tag", f"v5.10.{n}")
    return tree


def states(database: str) -> list[str]:
    import psycopg

    with psycopg.connect(database) as db:
        return [r[0] for r in db.execute("SELECT state FROM jobs").fetchall()]


def finished(now: list[str], jobs: int) -> bool:
    return len(now) == jobs and not {"PENDING", "RUNNING"} & set(now)


def one_batch(tmp: Path, releases: int, workers: int) -> dict:
    env_git = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
               "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}
    os.environ.update(env_git)
    tree = small_tree(tmp, releases)
    with infra.redis_server(tmp) as broker, infra.postgres() as database, \
            infra.review_queue(tmp / "queue", database, ["small-linux"]) as (url, token):
        os.environ["BENCH_QUEUE_TOKEN"] = token
        cfg = bot_toml(tmp / "bot.toml", tree, queue=url, token_env="BENCH_QUEUE_TOKEN",
                       workers={"broker": broker, "database": database, "run_dir": tmp / "runs"})
        logs = [tmp / f"worker-{i}.log" for i in range(workers)]
        procs = [infra.start_worker(cfg, tmp / f"host-{i}", log) for i, log in enumerate(logs)]
        try:
            for log in logs:
                infra.wait_for("worker", lambda log=log: " ready." in log.read_text(), 120)
            start = time.monotonic()
            subprocess.run([*infra.BOT, "run", "--config", str(cfg), "--data-dir",
                            str(tmp / "watcher")], check=True, capture_output=True, timeout=600,
                           cwd=ROOT)
            infra.wait_for("every job", lambda: finished(states(database), releases), 3600)
            wall = time.monotonic() - start
        finally:
            for p in procs:
                infra.stop(p)
        # WAITING: posted, the maintainer has not decided; PASS: drafts skipped because the
        # queue superseded the series by a later release's
        if not set(states(database)) <= {"WAITING", "PASS"}:
            raise SystemExit(f"bench: a job failed: {states(database)}; see {tmp}")
        posted = len(infra.series(url))
    per_stage: dict[str, list[float]] = {}
    for run_json in (tmp / "runs").glob("*/run.json"):
        for stage, rec in json.loads(run_json.read_text())["stages"].items():
            per_stage.setdefault(stage, []).append(rec.get("seconds", 0.0))
    return {"workers": workers, "jobs": releases, "posted": posted, "wall": round(wall, 1),
            "stage_mean": {k: round(sum(v) / len(v), 2) for k, v in per_stage.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--releases", type=int, default=8, help="jobs in the batch (default 8)")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    args = ap.parse_args()
    results = []
    for n in (int(w) for w in args.workers.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-workers-{n}."))
        res = one_batch(tmp, args.releases, n)
        print(f"bench_workers: {n} worker(s): {res['jobs']} jobs, {res['posted']} series posted,"
              f" wall {res['wall']} s, mean stage seconds {res['stage_mean']}", flush=True)
        results.append(res)
        shutil.rmtree(tmp, ignore_errors=True)
    if len(results) >= 2:
        print(f"bench_workers: wall({results[-1]['workers']})/wall({results[0]['workers']}) = "
              f"{results[-1]['wall'] / results[0]['wall']:.2f} "
              f"(1.0 = no gain; {1 / len(results):.2f}... is the ideal on enough cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
