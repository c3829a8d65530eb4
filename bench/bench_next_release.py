"""Bench: what the next release costs. A tree's release N, then release N+1, each through the
real pipeline library (apply -> build with NFC proof -> boot -> post), against one cold build of
N+1 in the same run. Goals: N+1 <= 0.4x the cold build; N (the first release) <= 1.3x.

    .venv/bin/python bench/bench_next_release.py --repo REPO [--old v5.10.218 --new v5.10.223]

REPO holds both tags (two adjacent Debian 5.10 releases, e.g. `cocci-bot mirror --repo REPO
5.10.218 5.10.223`: bullseye's two last point releases). Everything runs one after the other
(never two builds at once): the pipeline on N from an empty data dir and an empty ccache, the
pipeline on N+1 on the same data dir (kept O= dir and ccache, as a bot that watches the tree),
then the cold build of N+1 (fresh O= dir, ccache disabled). With `--ccache-only`, before N+1:
a base build of N+1 from an empty O= dir with the ccache N left (what the build did before the
O= dir was kept), to show how little ccache alone hits.

Prints the ratios, the split of N+1 by stage and build step, ccache hits, how many objects N+1's
base build recompiled and why (the inputs that changed between the releases) and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))      # this checkout's bot/ and semantic_patches/
sys.path.insert(0, str(ROOT / "bench"))

from bot import defaults  # noqa: E402

GOAL_NEXT, GOAL_FIRST = 0.4, 1.3


def cpu() -> float:
    """CPU seconds used so far by this process and its finished children (user + system): on
    a shared, loaded machine a fairer measure of cost than the wall clock, printed beside it."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fragment() -> Path:
    return ROOT / "semantic_patches" / defaults.CAMPAIGN / defaults.BUILD_FRAGMENT


def worktree(repo: Path, tag: str, path: Path) -> Path:
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "--force", str(path),
                    tag], check=True, capture_output=True, timeout=600)
    return path


def tuxmake_build(src: Path, obj: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    from bot.build import tuxmake

    spec = tuxmake.Spec(src, obj, out, fragment())
    t0, c0 = time.monotonic(), cpu()
    subprocess.run(tuxmake.argv(spec), check=True, capture_output=True, timeout=7200,
                   env={**os.environ, "KCFLAGS": "", **env})
    return time.monotonic() - t0, cpu() - c0


def pipeline(repo: Path, tag: str, tmp: Path) -> tuple[float, float, Path]:
    from bot.pipeline import config, runner

    toml = tmp / "bot.toml"
    toml.write_text(f'[[tree]]\nname = "debian-linux"\nsource = "git"\npath = "{repo}"\n'
                    f'tags = "{tag}"\n\n[checks]\nbuild = true\nboot = true\n')
    t0, c0 = time.monotonic(), cpu()
    results = runner.run_all(config.load(toml), tmp / "data")
    seconds, cpu_seconds = time.monotonic() - t0, cpu() - c0
    for line, code in results:
        print(f"  {line} (exit {code})")
    runs = sorted((tmp / "data" / "runs").glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    return seconds, cpu_seconds, runs[-1].parent


def split(run_dir: Path) -> list[str]:
    """bench_pipeline's split by stage, and what the kept O= dir changed."""
    from bench_pipeline import split as by_stage

    lines = by_stage(run_dir)
    build = run_dir / "build" / "build.json"
    if build.is_file():
        rec = json.loads(build.read_text())
        base, patched = rec["builds"]["base"], rec["builds"]["patched"]
        lines.append(f"    incremental base {rec.get('incremental')}; ccache {rec['ccache']}")
        lines.append(f"    warnings of the whole kernel (the ledger): base {base['warnings']} "
                     f"(printed by this build {base.get('warnings_printed')}), new "
                     f"{len(rec['new_warnings'])}")
        lines.append(f"    objects compiled: base {compiled(base)}, patched {compiled(patched)}")
    return lines


def compiled(build: dict) -> int:
    """Objects a build compiled (the recorder's list, bot/build/ledger.py)."""
    from bot.build import ledger

    path = Path(build["output_dir"]) / ledger.COMPILED
    return len(path.read_text().splitlines()) if path.is_file() else 0


def changed_inputs(repo: Path, old: str, new: str, obj: Path) -> list[str]:
    """Why objects had to be recompiled: the files that changed between the releases, and how
    many of the kernel's objects depend on one of them (kbuild's .cmd dependency lists)."""
    names = subprocess.run(["git", "-C", str(repo), "diff", "--name-only", old, new],
                           capture_output=True, text=True, check=True).stdout.split()
    changed = set(names)
    headers = {n for n in changed if n.endswith(".h")}
    deps = object_deps(obj)
    hit_by: dict[str, int] = {}
    stale = 0
    for _o, files in deps.items():
        touched = [f for f in files if f in changed]
        stale += bool(touched)
        for f in touched:
            hit_by[f] = hit_by.get(f, 0) + 1
    top = sorted(hit_by.items(), key=lambda kv: -kv[1])[:8]
    return [f"{len(changed)} files changed between {old} and {new} ({len(headers)} headers); "
            f"{stale} of {len(deps)} objects depend on one of them",
            "    most included changed files: " + ", ".join(f"{f} ({n})" for f, n in top)]


def object_deps(obj: Path) -> dict[str, list[str]]:
    """object -> its source and headers relative to the tree, from kbuild's .<obj>.cmd files."""
    deps = {}
    for cmd in obj.rglob(".*.o.cmd"):
        text = cmd.read_text(errors="replace")
        files = re.findall(r"^\s+(\S+?)\s*\\?$", text, re.MULTILINE)
        files += re.findall(r"^source_\S+ := (\S+)", text, re.MULTILINE)
        rel = []
        for f in files:
            f = f.split("/src/", 1)[1] if "/src/" in f else f
            if not f.startswith(("$(", "include/config/")) and f.endswith((".h", ".c", ".S")):
                rel.append(f)
        deps[str(cmd.relative_to(obj))] = rel
    return deps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True, help="a kernel git repo with both tags")
    ap.add_argument("--old", default="v5.10.218")
    ap.add_argument("--new", default="v5.10.223")
    ap.add_argument("--ccache-only", action="store_true",
                    help="also build N+1's base from an empty O= dir with N's ccache (how the "
                    "build did it before the O= dir was kept), for comparison")
    args = ap.parse_args(argv)
    before = load()
    with tempfile.TemporaryDirectory(dir=defaults.cache_dir(), prefix="bench-next-") as name:
        tmp = Path(name)
        defaults.ccache_dir = lambda: tmp / "ccache"   # type: ignore[assignment]  # empty ccache
        try:
            first, first_cpu, run_n = pipeline(args.repo, args.old, tmp)
            print(f"release N = {args.old}, from nothing: {first:.1f} s, {first_cpu:.1f} cpu-s "
                  f"(load {load()})")
            print("\n".join(split(run_n)), flush=True)
            src = worktree(args.repo, args.new, tmp / "cold-src")
            ccache_only = None
            if args.ccache_only:   # before N+1 fills the ccache with N+1's objects
                ccache_only = tuxmake_build(src, tmp / "cc-obj", tmp / "cc-out",
                                            {"CCACHE_DIR": str(tmp / "ccache"),
                                             "CCACHE_DEPEND": "1", "CCACHE_NOHASHDIR": "true"})
                print(f"N+1's base from an empty O= dir with N's ccache (the old way): "
                      f"{ccache_only[0]:.1f} s, {ccache_only[1]:.1f} cpu-s, ccache "
                      f"{ccache_stats(tmp / 'cc-out')}", flush=True)
            nxt, nxt_cpu, run_n1 = pipeline(args.repo, args.new, tmp)
            print(f"release N+1 = {args.new}, after N: {nxt:.1f} s, {nxt_cpu:.1f} cpu-s "
                  f"(load {load()})")
            print("\n".join(split(run_n1)))
            obj = next((tmp / "data" / "build-work").glob("*/obj"))
            print("\n".join(changed_inputs(args.repo, args.old, args.new, obj)), flush=True)
            cold, cold_cpu = tuxmake_build(src, tmp / "cold-obj", tmp / "cold-out",
                                           {"CCACHE_DISABLE": "1"})
            print(f"cold build of {args.new}: {cold:.1f} s, {cold_cpu:.1f} cpu-s (load {load()})")
            for name, wall, used, goal in (("N", first, first_cpu, GOAL_FIRST),
                                           ("N+1", nxt, nxt_cpu, GOAL_NEXT)):
                print(f"release {name}: {wall / cold:.2f}x a cold build by the clock, "
                      f"{used / cold_cpu:.2f}x by cpu time (goal <= {goal}x): "
                      f"{'met' if wall / cold <= goal else 'NOT met'}")
            if ccache_only is not None:
                print(f"the old way's base build alone: {ccache_only[0] / cold:.2f}x by the "
                      f"clock, {ccache_only[1] / cold_cpu:.2f}x by cpu time")
        finally:
            subprocess.run(["git", "-C", str(args.repo), "worktree", "prune"], check=False)
    print(f"load average (1/5/15 min): before {before}, after {load()}; {os.cpu_count()} cpus")
    return 0


def ccache_stats(out: Path) -> str:
    meta = json.loads((out / "metadata.json").read_text())
    cc = meta.get("ccache", {})
    hits, misses = cc.get("cache_hits"), cc.get("cache_misses")
    if isinstance(hits, int) and isinstance(misses, int) and hits + misses:
        return f"{hits} hits, {misses} misses ({100 * hits / (hits + misses):.0f}% hits)"
    return f"{cc}"


if __name__ == "__main__":
    raise SystemExit(main())
