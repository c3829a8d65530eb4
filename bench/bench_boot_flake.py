"""Bench: does the boot verdict flake? Boots a correct kernel N times (default 50) under TCG
while two CPU-bound processes run beside it, and prints how many boots passed, how many
failed, and how many smoke stalls (retried attempts) they needed. Goal: 0 false FAILs.

    .venv/bin/python bench/bench_boot_flake.py --kernel BZIMAGE [--boots 50] [--hogs 2]

Not a timed test: the figure is a count. Every boot's boot.json (all attempts) is kept under
--keep DIR when given.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.boot import run as boot_run

HOG = "while True: pass"


def start_hogs(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(n)]


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for p in hogs:
        p.kill()
        p.wait()


def one_boot(kernel: Path, out: Path) -> dict:
    return boot_run.boot(boot_run.Options(kernel=kernel, out=out, accel="tcg"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", type=Path, required=True)
    ap.add_argument("--boots", type=int, default=50)
    ap.add_argument("--hogs", type=int, default=2, help="CPU-bound processes beside the boots")
    ap.add_argument("--keep", type=Path, default=None, help="keep every OUTDIR here")
    args = ap.parse_args(argv)
    verdicts: Counter[str] = Counter()
    stalls = boots_with_stalls = 0
    seconds = []
    hogs = start_hogs(args.hogs)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = args.keep or Path(tmp)
            for i in range(args.boots):
                t0 = time.monotonic()
                rec = one_boot(args.kernel, root / f"boot{i:03d}")
                seconds.append(time.monotonic() - t0)
                verdicts[rec["verdict"]] += 1
                stalls += rec["kvm_smoke_stalls"]
                boots_with_stalls += rec["kvm_smoke_stalls"] > 0
                print(f"boot {i + 1}/{args.boots}: {rec['verdict']}, "
                      f"{len(rec['attempts'])} attempt(s), {rec['kvm_smoke_stalls']} stall(s), "
                      f"{seconds[-1]:.1f} s" + ("" if rec["verdict"] == "pass"
                                                  else f": {rec['reason']}"), flush=True)
    finally:
        stop_hogs(hogs)
    print(f"{args.boots} boots of {args.kernel} under TCG beside {args.hogs} CPU-bound processes")
    print(f"pass {verdicts['pass']}, fail {verdicts['fail']}, infra-error "
          f"{verdicts['infra-error']}; smoke stalls {stalls} (in {boots_with_stalls} boots); "
          f"median {sorted(seconds)[len(seconds) // 2]:.1f} s a boot")
    print(f"goal 0 false FAILs: {'met' if verdicts['pass'] == args.boots else 'NOT met'}")
    return 0 if verdicts["pass"] == args.boots else 1


if __name__ == "__main__":
    sys.exit(main())
