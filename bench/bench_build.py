"""Bench: the patched build after a cached base build, against a cold build of the same
commit (fresh build dir, ccache disabled). Goal: ratio <= 0.5.

    .venv/bin/python bench/bench_build.py [--tree REPO --rev REV --base REV]

Without --tree it uses the test suite's cached 5.10.223 repo and its harmless test series.
Both builds are measured in this one run, one after the other (never two builds at once).
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
sys.path.insert(0, str(ROOT / "tests"))

from bot import defaults  # noqa: E402
from bot.build import tuxmake  # noqa: E402

GOAL = 0.5


def default_series() -> tuple[Path, str, str]:
    from kernel_trees import TAG, commit_change, ensure_kernel_repo
    from slow.test_build_boot import HARMLESS, SOB

    repo = ensure_kernel_repo()
    return repo, commit_change(repo, "test/harmless", HARMLESS, "kvm: harmless test change" + SOB), TAG


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", type=Path)
    ap.add_argument("--rev")
    ap.add_argument("--base")
    ap.add_argument("--work-dir", type=Path, default=defaults.cache_dir() / "bench-build-work")
    args = ap.parse_args(argv)
    tree, rev, base = (args.tree, args.rev, args.base) if args.tree else default_series()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "build"
        cmd = [sys.executable, "-m", "bot", "build", "--tree", str(tree), "--rev", rev,
               "--base", base, "--out", str(out), "--work-dir", str(args.work_dir)]
        subprocess.run(cmd, check=True)
        rec = json.loads((out / "build.json").read_text())
        patched = rec["durations"]["patched"]
        # cold: the patched source (left checked out by the stage) in a fresh dir, no ccache
        src = next(args.work_dir.glob(f"{tree.resolve().name}-*/src"))
        spec = tuxmake.Spec(src, Path(tmp) / "cold-obj", Path(tmp) / "cold-out",
                            Path(rec["fragment"]))
        t0 = time.monotonic()
        subprocess.run(tuxmake.argv(spec), check=True, capture_output=True,
                       env={**os.environ, "CCACHE_DISABLE": "1"})
        cold = time.monotonic() - t0
    print(f"base build {rec['durations']['base']:.1f} s (ccache {rec['ccache']['base']})")
    print(f"patched build after the base build {patched:.1f} s (ccache {rec['ccache']['patched']})")
    print(f"cold build of the patched commit {cold:.1f} s")
    print(f"ratio {patched / cold:.2f}x (goal <= {GOAL}x): {'met' if patched / cold <= GOAL else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
