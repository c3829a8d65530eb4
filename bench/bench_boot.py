"""Bench: `cocci-bot boot` against a bare qemu-system-x86_64 run of the same kernel and
initramfs (the QEMU command line boot.json records as `reproducer`). Goal: ratio <= 1.2.

    .venv/bin/python bench/bench_boot.py --kernel BZIMAGE [--runs 5]

Both are timed in this one run, interleaved, and compared by their medians.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.2


def time_stage(kernel: Path, out: Path) -> tuple[float, dict]:
    t0 = time.monotonic()
    rc = subprocess.run([sys.executable, "-m", "bot", "boot", "--kernel", str(kernel),
                         "--out", str(out)], capture_output=True, text=True).returncode
    seconds = time.monotonic() - t0
    rec = json.loads((out / "boot.json").read_text())
    if rc != 0:
        tail = (out / "console.log").read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"boot stage failed: {rec['reason']}\n" + "\n".join(tail))
    return seconds, rec


def time_bare(argv: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(argv, check=True, timeout=300)
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        _, rec = time_stage(args.kernel, Path(tmp) / "warmup")   # also settles the KVM probe
        print(f"warm-up boot: {rec['verdict']} ({rec['accel']})", flush=True)
        bare_argv = shlex.split(rec["reproducer"])
        stage, bare = [], []
        for i in range(args.runs):
            stage.append(time_stage(args.kernel, Path(tmp) / f"run{i}")[0])
            bare.append(time_bare(bare_argv))
            print(f"run {i}: stage {stage[-1]:.2f} s, bare {bare[-1]:.2f} s", flush=True)
    s, b = statistics.median(stage), statistics.median(bare)
    print(f"accel {rec['accel']} ({rec['cpu']}), {args.runs} runs each")
    print(f"boot stage median {s:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in stage)})")
    print(f"bare qemu  median {b:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in bare)})")
    print(f"ratio {s / b:.2f}x (goal <= {GOAL}x): {'met' if s / b <= GOAL else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
