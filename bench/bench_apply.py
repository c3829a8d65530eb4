"""Benchmark: the apply stage against one bare prefiltered spatch pass per step, in one run.

    .venv/bin/python bench/bench_apply.py --tree /path/to/linux [--rev v5.10.223] [--repeat 3]

--tree is a full kernel checkout (a work tree, not bare).  Without it the bench
checks out --rev from the mirror `cocci-bot mirror` keeps under the test cache.
Both sides run the same steps with the same spatch flags (--use-gitgrep -j N
over the whole tree for the bare tool); the figure is the ratio of medians,
goal <= 1.5.  Prints one JSON line; exit 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import defaults  # noqa: E402
from bot.apply import campaign as campaign_mod  # noqa: E402
from bot.apply import cocci  # noqa: E402

GOAL = 1.5


def bare_pass(camp: campaign_mod.Campaign, tree: Path, jobs: int) -> float:
    start = time.monotonic()
    for step in camp.steps:
        if step.cocci is None:
            continue
        argv = cocci.argv(step.cocci, tree, "patch", camp.spatch_options, in_place=False, jobs=jobs)
        subprocess.run(argv, cwd=step.cocci.parent, check=True, capture_output=True, timeout=600)
    return time.monotonic() - start


def apply_stage(tree: Path, rev: str, jobs: int, scratch: Path) -> float:
    start = time.monotonic()
    subprocess.run([str(ROOT / ".venv/bin/cocci-bot"), "apply", "--tree", str(tree), "--rev", rev,
                    "--campaign", "kvm-refcounted-pfn", "-j", str(jobs), "--out",
                    str(scratch / "out"), "--data-dir", str(scratch / "data")],
                   check=True, capture_output=True, timeout=600)
    return time.monotonic() - start


def checkout_from_mirror(rev: str, scratch: Path) -> Path:
    mirror = defaults.cache_dir() / "test-mirror"
    repo = mirror / "debian-linux.git"
    subprocess.run([str(ROOT / ".venv/bin/cocci-bot"), "mirror", "--data-dir", str(mirror / "data"),
                    "--repo", str(repo), rev.lstrip("v")], check=True, timeout=3600)
    tree = scratch / "linux"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "--quiet", str(tree), rev],
                   check=True, timeout=600)
    return tree


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path)
    ap.add_argument("--rev", default="v5.10.223")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=defaults.SPATCH_JOBS)
    args = ap.parse_args(argv)
    camp = campaign_mod.load("kvm-refcounted-pfn")
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        scratch = Path(tmp)
        tree = args.tree or checkout_from_mirror(args.rev, scratch)
        bare, staged = [], []
        for i in range(args.repeat):   # interleaved, so both sides see the same machine state
            bare.append(bare_pass(camp, tree, args.jobs))
            staged.append(apply_stage(tree, args.rev if not args.tree else "HEAD", args.jobs,
                                      scratch / f"run{i}"))
        if not args.tree:
            subprocess.run(["git", "-C", str(tree), "worktree", "remove", "--force", "."],
                           check=False, timeout=600)
    ratio = statistics.median(staged) / statistics.median(bare)
    print(json.dumps({"bench": "apply-vs-bare-spatch", "tree": str(args.tree or args.rev),
                      "bare_s": [round(x, 2) for x in bare], "apply_s": [round(x, 2) for x in staged],
                      "ratio": round(ratio, 2), "goal": GOAL, "met": ratio <= GOAL}))
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
