"""Bench: a new 5.10 release from its tag to a series with every check in the review queue,
through the real pipeline library (apply -> build with NFC proof -> boot -> post), against one
cold build of the same kernel (tuxmake, same fragment, fresh O= dir, ccache disabled).
Goal: ratio <= 1.3.

    .venv/bin/python bench/bench_pipeline.py [--repo REPO] [--tag v5.10.223]

Both are measured in this one run, one after the other. The pipeline starts from nothing: a
fresh data dir (so a fresh source checkout and O= dir) and an empty ccache, as for the first
release a bot ever sees; the embedded review queue is started by the pipeline as in production.
Prints the ratio, the split by stage and the machine's load (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))      # this checkout's bot/ and semantic_patches/

from bot import defaults  # noqa: E402

GOAL = 1.3


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cold_build(repo: Path, tag: str, tmp: Path) -> float:
    from bot.build import tuxmake

    src = tmp / "cold-src"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "--force", str(src),
                    tag], check=True, capture_output=True, timeout=600)
    fragment = ROOT / "semantic_patches" / defaults.CAMPAIGN / defaults.BUILD_FRAGMENT
    spec = tuxmake.Spec(src, tmp / "cold-obj", tmp / "cold-out", fragment)
    t0 = time.monotonic()
    subprocess.run(tuxmake.argv(spec), check=True, capture_output=True, timeout=7200,
                   env={**os.environ, "CCACHE_DISABLE": "1", "KCFLAGS": ""})
    return time.monotonic() - t0


def pipeline(repo: Path, tag: str, tmp: Path) -> tuple[float, Path]:
    from bot.pipeline import config, runner

    defaults.ccache_dir = lambda: tmp / "ccache"   # type: ignore[assignment]  # empty ccache
    toml = tmp / "bot.toml"
    toml.write_text(f'[[tree]]\nname = "debian-linux"\nsource = "git"\npath = "{repo}"\n'
                    f'tags = "{tag}"\n\n[checks]\nbuild = true\nboot = true\n')
    data = tmp / "data"
    t0 = time.monotonic()
    results = runner.run_all(config.load(toml), data)
    seconds = time.monotonic() - t0
    for line, code in results:
        print(f"{line} (exit {code})")
    run_dir = next((data / "runs").glob("*/run.json")).parent
    return seconds, run_dir


def split(run_dir: Path) -> list[str]:
    state = json.loads((run_dir / "run.json").read_text())
    lines = [f"  {name:<7} {rec.get('seconds', 0):7.1f} s  {rec['status']}"
             for name, rec in state["stages"].items()]
    build = run_dir / "build" / "build.json"
    if build.is_file():
        rec = json.loads(build.read_text())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in rec["durations"].items())
        lines.append(f"  build:  {parts} (s)")
        if rec.get("nfc"):
            lines.append("  nfc:    " + "; ".join(f"{s['commit'][:12]} {s['verdict']}"
                                                  for s in rec["nfc"]["steps"]))
    boot = run_dir / "boot" / "boot.json"
    if boot.is_file():
        rec = json.loads(boot.read_text())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in rec.get("durations", {}).items())
        lines.append(f"  boot:   {parts} (s); accel {rec.get('accel')}, "
                     f"verdict {rec.get('verdict')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path,
                    default=defaults.cache_dir() / "test-mirror" / "debian-linux.git",
                    help="a kernel git repo holding --tag (default: the test suite's mirror)")
    ap.add_argument("--tag", default="v5.10.223")
    args = ap.parse_args(argv)
    if not args.repo.is_dir():
        print(f"{args.repo} missing: run the slow tests once (fixture debian_mirror) or pass "
              "--repo", file=sys.stderr)
        return 2
    before = load()
    with tempfile.TemporaryDirectory(dir=defaults.cache_dir()) as name:
        tmp = Path(name)
        try:
            cold = cold_build(args.repo, args.tag, tmp)
            mid = load()
            total, run_dir = pipeline(args.repo, args.tag, tmp)
            lines = split(run_dir)
        finally:
            subprocess.run(["git", "-C", str(args.repo), "worktree", "prune"], check=False)
    after = load()
    ratio = total / cold
    print(f"cold build of {args.tag}: {cold:.1f} s")
    print(f"pipeline, tag to series with checks in the queue: {total:.1f} s")
    print("\n".join(lines))
    print(f"ratio {ratio:.2f}x (goal <= {GOAL}x): {'met' if ratio <= GOAL else 'NOT met'}")
    print(f"load average (1/5/15 min): before {before}, between {mid}, after {after}; "
          f"{os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
