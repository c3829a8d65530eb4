"""Reading an apply/build/boot output directory into what the queue takes: the series payload
and the checks (build, boot, kvm-smoke, dax, idempotence, checkpatch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot import defaults
from bot.boot import history
from bot.boot.attribution import CONTEXTS
from bot.build.nfc import table
from bot.errors import UserError
from bot.status import Status, check_state

# the stages' results the queue takes as checks (bot.status.check_state maps them)
BUILD_RESULTS = (Status.PASS, Status.FAIL)
BOOT_RESULTS = (Status.PASS, Status.FAIL, Status.ERROR)
SMOKE_RESULTS = (Status.PASS, Status.FAIL, Status.SKIPPED)
DAX_RESULTS = SMOKE_RESULTS


def _status(value: object) -> Status | None:
    try:
        return Status.of(value)
    except ValueError:
        return None


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path} is missing: is this a `cocci-bot apply --out` directory?") \
            from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object")
    return data


def require_pass(outdir: Path, report: dict[str, Any]) -> None:
    """Only a finished, passing apply is posted: not one still running, failed or broken."""
    status = report.get("status")
    if status == "PASS":
        return
    why = f": {report['error']}" if report.get("error") else ""
    raise UserError(f"{outdir}: apply did not PASS (status {status or 'missing'}{why}); "
                    "fix it and rerun `cocci-bot apply` before posting")


def series_payload(outdir: Path, project: str | None) -> dict[str, Any]:
    report = read_json(outdir / "report.json")
    require_pass(outdir, report)
    mails = sorted((outdir / "series").glob("*.patch"))
    cover = [m for m in mails if m.name.startswith("0000-")]
    patches = [m for m in mails if not m.name.startswith("0000-")]
    if not patches:
        raise UserError(f"{outdir / 'series'} holds no patches (NNNN-*.patch): nothing to post")
    name = project or report.get("tree")
    if not name:
        raise UserError("report.json names no tree: pass --project NAME")
    payload: dict[str, Any] = {
        "project": name, "report": report,
        "patches": [p.read_text(encoding="utf-8", errors="replace") for p in patches],
        "cover": cover[0].read_text(encoding="utf-8", errors="replace") if cover else "",
    }
    if report.get("dedupe_key"):
        payload["dedupe_key"] = report["dedupe_key"]
    return payload


def _tail(paths: list[Path]) -> str:
    parts = []
    for p in paths:
        data = p.read_bytes()[-defaults.REVIEW_MAX_LOG_BYTES:]
        parts.append(f"==> {p.name} <==\n{data.decode('utf-8', errors='replace')}")
    return "\n".join(parts)[-defaults.REVIEW_MAX_LOG_BYTES:]


def checks(outdir: Path, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Series checks from what the stages wrote; a missing stage directory posts nothing."""
    out = [_idempotence(report)] if "idempotent" in report else []
    if isinstance(report.get("claims"), dict):
        out.append(_claims(report["claims"]))
    if (outdir / "build" / "build.json").is_file():
        out.append(_build(outdir / "build"))
        out += _nfc(outdir / "build")
    if (outdir / "boot" / "boot.json").is_file():
        out += _boot(outdir / "boot")
    if (outdir / "checkpatch" / "checkpatch.json").is_file():
        out.append(_checkpatch(outdir / "checkpatch"))
    return out


def _idempotence(report: dict[str, Any]) -> dict[str, Any]:
    ok = report["idempotent"] is True
    return {"context": "idempotence", "state": check_state(Status.PASS if ok else Status.FAIL),
            "description": "a second spatch run changes nothing" if ok
            else "a second spatch run still changes the tree"}


def _claims(claims: dict[str, Any]) -> dict[str, Any]:
    """apply's claim check (bot/apply/claims.py): every checkable statement of the series
    proved on the tree, or the first it could not prove."""
    failed = claims.get("failed") or []
    ok = claims.get("status") == "PASS" and not failed
    desc = (f"{claims.get('checked', 0)} statements proved on the tree" if ok else
            f"{len(failed)} statement(s) not proved; {failed[0]['message']}: "
            f"{failed[0]['why']}: \"{failed[0]['sentence']}\"")
    log = "\n".join(f"{f['message']}: {f['why']}\n  {f['sentence']}" for f in failed)
    return {"context": "claims", "state": check_state(Status.PASS if ok else Status.FAIL),
            "description": desc[:2000], "log": log or "every statement proved"}


def _build(d: Path) -> dict[str, Any]:
    build = read_json(d / "build.json")
    status = _status(build.get("status"))
    if status not in BUILD_RESULTS:
        raise UserError(f"{d / 'build.json'}: status must be PASS or FAIL, "
                        f"got {build.get('status')!r}")
    warnings = build.get("new_warnings") or []
    state = check_state(status, warnings=bool(warnings))
    desc = f"build {status}, {len(warnings)} new warning(s)"
    broken = (build.get("bisect") or {}).get("first_broken")
    if broken:
        desc += (f"; not bisectable: after patch {broken['patch']} ({broken['subject']}) the "
                 "objects the series touches do not compile")
    if build.get("reproducer"):
        desc += f"; reproduce: {build['reproducer']}"
    return {"context": "build", "state": state, "description": desc[:2000],
            "log": _tail(sorted(d.glob("*.log")))}


NFC_STATES = {"pass": "success", "fail": "fail", "not-claimed": "success", "error": "warning"}


def _nfc(d: Path) -> list[dict[str, Any]]:
    """The proof of "no functional change" (build.json `nfc`), its per-function table as log."""
    proof = read_json(d / "build.json").get("nfc")
    if not isinstance(proof, dict) or proof.get("status") not in NFC_STATES:
        return []
    steps = proof.get("steps", [])
    state = NFC_STATES[proof["status"]]
    if state == "success" and any(s.get("not_compiled") for s in steps if s.get("claims")):
        state = "warning"     # part of a claiming step is not compiled by this config
    desc = "; ".join(f"{s['commit'][:12]} {s['verdict']}: {s['reason']}" for s in steps)
    desc = desc or str(proof.get("reason", ""))
    return [{"context": "nfc", "state": state,
             "description": (desc or "no steps")[:2000],
             "log": table(proof)[-defaults.REVIEW_MAX_LOG_BYTES:]}]


def _boot(d: Path) -> list[dict[str, Any]]:
    boot = read_json(d / "boot.json")
    # attributed: the boot check shows what the patched kernel did, `attributed` says whose
    # fault it is (boot.json status is the series' result then)
    verdict = _status(boot.get("verdict") if boot.get("attribution")
                      else boot.get("status", boot.get("verdict")))
    if verdict not in BOOT_RESULTS:
        raise UserError(f"{d / 'boot.json'}: status must be PASS, FAIL or ERROR, "
                        f"got {boot.get('status', boot.get('verdict'))!r}")
    desc = f"boot {verdict} ({boot.get('accel', '?')}, {boot.get('cpu', '?')})"
    if boot.get("first_bad_line"):
        desc += f": {boot['first_bad_line']}"
    log = _tail([p for p in [d / "console.log"] if p.is_file()])
    out = [{"context": "boot", "state": check_state(verdict), "description": desc,
            "log": log}]
    smoke = _status(boot.get("kvm_smoke", ""))
    if smoke in SMOKE_RESULTS:
        out.append({"context": "kvm-smoke", "state": check_state(smoke),
                    "description": f"in-guest KVM smoke test: {smoke}", "log": log})
    dax = boot.get("dax")
    dax_status = _status(dax.get("status")) if isinstance(dax, dict) else None
    if isinstance(dax, dict) and dax_status in DAX_RESULTS:
        out.append({"context": "dax", "state": check_state(dax_status),
                    "description": f"KVM guest on device DAX, device disabled after: "
                                   f"{dax['status']}: {dax.get('reason', '')}",
                    "log": log})
    fix = boot.get("fix_first")
    if isinstance(fix, dict) and _status(fix.get("status")) in (Status.PASS, Status.FAIL):
        dax = fix.get("dax") or {}
        out.append({"context": "fix-first", "state": check_state(fix["status"]),
                    "description": f"patch 1 alone (the fix) booted with the DAX check: boot "
                                   f"{fix.get('verdict')}, dax {dax.get('status')}: "
                                   f"{dax.get('reason') or fix.get('reason', '')}",
                    "log": _tail([p for p in [d / "fix-first" / "console.log"] if p.is_file()])})
    attributed(out, boot.get("attribution"))
    with_history(out, boot.get("history"))
    for check in out:
        check["description"] = check["description"][:2000]
    return out


def with_history(checks: list[dict[str, Any]], rows: Any) -> None:
    """Each boot check says its history on the bot's host (bot/boot/history.py)."""
    if not isinstance(rows, dict):
        return
    for check in checks:
        mine = {k: v for k, v in rows.items() if CONTEXTS.get(k) == check["context"]}
        if mine:
            check["description"] += f" [this host's last boots: {history.text(mine)}]"


def attributed(checks: list[dict[str, Any]], att: Any) -> None:
    """Failed checks say whose fault they are (bot/boot/attribution.py): one the base kernel
    fails too is a warning (it does not block the series), one the series caused stays fail."""
    if not isinstance(att, dict):
        return
    for name, verdict in (att.get("checks") or {}).items():
        for check in checks:
            if check["context"] != CONTEXTS.get(name) or check["state"] != "fail":
                continue
            if verdict.get("cause") == "base":
                check["state"] = "warning"
            check["description"] = f"{verdict.get('says')}: {check['description']}"


def _checkpatch(d: Path) -> dict[str, Any]:
    data = read_json(d / "checkpatch.json")
    errors, warnings = int(data.get("errors", 0)), int(data.get("warnings", 0))
    state = "fail" if errors else "warning" if warnings else "success"
    return {"context": "checkpatch", "state": state,
            "description": f"checkpatch: {errors} error(s), {warnings} warning(s)",
            "log": _tail(sorted(d.glob("*.log")))}
