"""Whose fault a failed check is: the series', or the tree's.

When the patched kernel fails a check, the boot stage runs the same boot on the base kernel
(the build stage built it already) and compares check by check:

- fails on the base too: "fails on base too: not caused by the series": the series is not
  blocked (boot.json status PASS, the queue's check a warning that says so);
- passes on the base: "passes on base, fails patched: caused by the series": blocked (FAIL);
- the base could not be judged (QEMU failed, the check did not run): counted against the
  series, and said.

The checks: `boot` (the kernel starts, reaches init and reports before the deadline), `oops`
(no oops/BUG/WARNING/lockup/panic line on the console), `kvm_smoke` (the in-guest KVM smoke
program) and `dax` (the seed's DAX scenario).
"""

from __future__ import annotations

from typing import Any

BASE_TOO = "fails on base too: not caused by the series"
SERIES = "passes on base, fails patched: caused by the series"
UNKNOWN = "the base kernel could not be checked: counted against the series"
CHECKS = ("boot", "oops", "kvm_smoke", "dax")
# the queue's check context of each attributed check (bot/post/outdir.py)
CONTEXTS = {"boot": "boot", "oops": "boot", "kvm_smoke": "kvm-smoke", "dax": "dax"}


def results(rec: dict[str, Any]) -> dict[str, str]:
    """pass | fail | skipped of each check in a finished boot.json record (infra-error: the
    boot could not be judged at all)."""
    if rec.get("verdict") == "infra-error":
        return {check: "infra-error" for check in CHECKS}
    bad = bool(rec.get("bad_lines"))
    smoke = str(rec.get("kvm_smoke") or "skipped")
    hung = rec.get("verdict") == "fail" and not bad and smoke != "fail"
    dax = rec.get("dax") or {}
    return {"boot": "fail" if hung or str(rec.get("reason", "")).startswith("deadline")
            else "pass",
            "oops": "fail" if bad else "pass", "kvm_smoke": smoke,
            "dax": str(dax.get("status") or "skipped")}


def failed(rec: dict[str, Any]) -> list[str]:
    """The checks the patched kernel failed, in CHECKS order."""
    return [check for check, state in results(rec).items() if state == "fail"]


def attribute(patched: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """boot.json's `attribution`: per failed check, the base's result and whose fault it is."""
    base_results = results(base)
    checks = {}
    for check in failed(patched):
        on_base = base_results[check]
        cause = "base" if on_base == "fail" else "series" if on_base == "pass" else "unknown"
        checks[check] = {"base": on_base, "cause": cause,
                         "says": {"base": BASE_TOO, "series": SERIES, "unknown": UNKNOWN}[cause]}
    caused = [c for c, v in checks.items() if v["cause"] != "base"]
    return {"checks": checks, "caused_by_series": bool(caused),
            "base_verdict": base.get("verdict"), "base_reason": base.get("reason"),
            "summary": summary(checks)}


def summary(checks: dict[str, dict[str, Any]]) -> str:
    """One line: each failed check and whose fault it is."""
    return "; ".join(f"{check.replace('_', ' ')} {v['says']}" for check, v in checks.items())


def cover_text(boot: dict[str, Any] | None) -> str:
    """What the drafts' cover says about the checks the series does not cause (or does)."""
    att = (boot or {}).get("attribution")
    if not att or not att.get("checks"):
        return ""
    lines = ["Boot test of the patched kernel against its base (QEMU):"]
    for check, v in att["checks"].items():
        lines.append(f"- {check.replace('_', ' ')}: {v['says']}")
    return "\n".join(lines)
