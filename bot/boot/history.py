"""Each check's history on this host: is it deterministic on a correct kernel, or flaky?

Every finished boot (the patched kernel's, and a base kernel's booted for attribution) appends
one line to DATA_DIR/check-history.jsonl: when, which kernel (patched or base), the accelerator
and, per check (bot/boot/attribution.CHECKS), its result, plus the boot's retries (QEMU runs
beyond the first) and smoke stalls. `summary` counts the last LAST boots per check: runs,
passes, fails, stalls, retries; `cocci-bot status` shows it, boot.json keeps the summary as it
was when the boot ended (`history`) and the queue's checks say it. No check is retried quietly:
a retry is counted in the result that needed it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bot.boot.attribution import CHECKS, results

FILE = "check-history.jsonl"
LAST = 50        # boots a summary counts


def path(data_dir: Path) -> Path:
    return data_dir / FILE


def record(data_dir: Path, rec: dict[str, Any], kernel: str = "patched") -> None:
    """Append one finished boot's results (one short line: O_APPEND keeps writers whole)."""
    line = json.dumps({"at": round(time.time()), "kernel": kernel, "accel": rec.get("accel"),
                       "checks": results(rec), "retries": int(rec.get("retries") or 0),
                       "stalls": int(rec.get("kvm_smoke_stalls") or 0)}) + "\n"
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path(data_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def entries(data_dir: Path, last: int = LAST) -> list[dict[str, Any]]:
    try:
        lines = path(data_dir).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines[-last:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue          # a torn line (a crash mid-write) is skipped, not fatal
    return out


def summary(data_dir: Path, last: int = LAST) -> dict[str, dict[str, int]]:
    """Per check over the last `last` boots: runs, passes, fails, stalls, retries."""
    out: dict[str, dict[str, int]] = {}
    for entry in entries(data_dir, last):
        for check in CHECKS:
            state = entry.get("checks", {}).get(check)
            if state in (None, "skipped"):
                continue
            row = out.setdefault(check, {"runs": 0, "passes": 0, "fails": 0, "stalls": 0,
                                         "retries": 0})
            row["runs"] += 1
            row["passes"] += state == "pass"
            row["fails"] += state == "fail"
            row["retries"] += int(entry.get("retries", 0))
            if check == "kvm_smoke":
                row["stalls"] += int(entry.get("stalls", 0))
    return out


def text(rows: dict[str, dict[str, int]]) -> str:
    """One line: `kvm_smoke 9/10 passed, 1 stall, 1 retry; ...`."""
    parts = []
    for check, row in rows.items():
        part = f"{check} {row['passes']}/{row['runs']} passed"
        if row["stalls"]:
            part += f", {row['stalls']} stall{'s' if row['stalls'] != 1 else ''}"
        if row["retries"]:
            part += f", {row['retries']} retr{'ies' if row['retries'] != 1 else 'y'}"
        parts.append(part)
    return "; ".join(parts)
