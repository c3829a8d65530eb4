"""What was tested, for the drafts' cover (or below the `---` of a single patch): computed from
this run's build.json, boot.json and the NFC proof in build.json, each check with its result as
measured.  A check that did not run is not mentioned; a failed one says FAIL in capitals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.apply.messages import wrap


def summary(run_dir: Path) -> str:
    """The "Tested:" paragraph of this run ("" when no check ran)."""
    build, boot = _read(run_dir / "build" / "build.json"), _read(run_dir / "boot" / "boot.json")
    lines = _build(build) + _nfc(build) + _boot(boot)
    if not lines:
        return ""
    return "Tested in this run:\n" + "\n".join(wrap(f"- {line}") for line in lines)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _verdict(value: object) -> str:
    text = str(value or "").upper()
    return text if text in ("PASS", "FAIL") else ""


def _build(build: dict[str, Any]) -> list[str]:
    status = _verdict(build.get("status"))
    if not status:
        return []
    line = f"build: {status}"
    if build.get("toolchain"):
        line += f", {build['toolchain']}"
    if build.get("fragment"):
        line += f", x86_64 defconfig plus {Path(str(build['fragment'])).name}"
    warnings = build.get("new_warnings") or []
    line += f"; new warnings: {len(warnings)}"
    if status == "FAIL" and build.get("reason"):
        line += f" ({build['reason']})"
    return [line]


def _nfc(build: dict[str, Any]) -> list[str]:
    proof = build.get("nfc")
    if not isinstance(proof, dict):
        return []
    out = []
    for n, step in enumerate(proof.get("steps", []), start=1):
        if not step.get("claims"):
            continue
        verdict = str(step.get("verdict", "")).upper()
        out.append(f"no functional change, patch {n}: {verdict}: {step.get('reason', '')}")
    return out


def _boot(boot: dict[str, Any]) -> list[str]:
    status = _verdict(boot.get("status") or boot.get("verdict"))
    if not status:
        return []
    line = f"boot of the patched kernel: {status}"
    if boot.get("accel"):
        line += f" under QEMU ({boot['accel']})"
    if _verdict(boot.get("kvm_smoke")):
        line += f"; in-guest KVM check: {_verdict(boot['kvm_smoke'])}"
    out = [line]
    for which in ("base_dax", "dax"):
        dax = boot.get(which)
        if isinstance(dax, dict) and _verdict(dax.get("status")):
            kernel = "base" if which == "base_dax" else "patched"
            text = f"DAX check, {kernel} kernel: {_verdict(dax['status'])}"
            out.append(text + (f" ({dax['reason']})" if dax.get("reason") else ""))
    return out
