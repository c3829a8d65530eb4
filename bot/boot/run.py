"""`cocci-bot boot`: boot a kernel under QEMU with the bot's initramfs and judge it.

OUTDIR/boot.json (written when the boot starts, replaced atomically when it ends):

    schema          bot.status.SCHEMA
    status          "RUNNING", then "PASS" | "FAIL" | "ERROR" (bot.status.Status, from verdict)
    verdict         null while running, then "pass" | "fail" | "infra-error"
    reason          one line: why that verdict
    accel, cpu      "kvm" | "tcg", the QEMU -cpu model; accel_reason says why
    kvm_smoke       "pass" | "fail" | "skipped" (the in-guest KVM smoke program)
    dax             {"status": "pass" | "fail" | "skipped", "reason": one line}: the seed's
                    scenario (guest/kvm-dax.c): a KVM guest on device-DAX memory, then the DAX
                    device disabled; a page reference KVM never dropped fails it
    kvm_smoke_stalls  boots whose smoke KVM_RUN never reached HLT (see below); 0 on a clean
                    first boot
    guest_kernel    `uname -r` as the guest reported it
    first_bad_line  the first oops/BUG/WARNING/KASAN/lockup/panic console line, or null
    bad_lines       up to 20 such lines, quoted
    durations       seconds: initramfs, boot (the final attempt), total
    attempts        every QEMU run: accel, cpu, seconds, verdict, reason
    kernel, initramfs, deadline, reproducer (the final QEMU command line)
    retries         QEMU runs beyond the first (stalls, infra retries, a failed KVM probe)
    fix_first       with --fix-kernel (patch 1 alone of a fix-first series): its boot with
                    the DAX check (OUTDIR/fix-first/): status, verdict, reason, dax, kernel;
                    a fix that does not boot and pass DAX alone fails the boot
    history         with a data dir: each check's runs, passes, fails, stalls, retries on this
                    host over its last boots, this one included (bot/boot/history.py)
    attribution     when the patched kernel failed a check and --base-kernel was given: the
                    base kernel booted the same way (OUTDIR/base/boot.json), per failed check
                    {base, cause: base | series | unknown, says}, caused_by_series, summary
                    (bot/boot/attribution.py); status is PASS when the base fails alike
    console_log, verdict_log, qemu_log   file names in OUTDIR

Exit status: 0 pass, 1 fail (the boot, or the DAX check), 3 infra-error. A kernel that panics or hangs fails on the first
try; QEMU failing (missing, could not start, crashed) is retried up to
defaults.BOOT_INFRA_RETRIES times before the verdict is "infra-error".

The smoke's KVM_RUN used to stall in about half the TCG boots of a loaded host: a guest kernel
whose TSC calibration raced the host scheduler ran with tsc_khz = 0, and KVM never enters a
guest then (see qemu.accel_argv). TCG boots now run with an instruction-counted clock, which
removes that race. A stall is still retried, as a last defence only: when the smoke's failure
is its only failure the whole boot runs again, up to defaults.BOOT_SMOKE_STALL_RETRIES times,
each try listed in `attempts` as "smoke-stalled" with `tsc_calibrated` (false names the cause
above). A kernel whose KVM stalls every time still fails.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import defaults, jsonfile, proc
from bot import progress as live
from bot.boot import accel, attribution, console, history, initramfs, qemu
from bot.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK, InfraError, UserError
from bot.log import progress
from bot.status import SCHEMA, Status

EXIT_BY_VERDICT = {"pass": EXIT_OK, "fail": EXIT_FAILED, "infra-error": EXIT_INFRA}
CONSOLE, VERDICT, QEMU_LOG = "console.log", "verdict.log", "qemu.log"
FIX_DIR = "fix-first"          # where patch 1 alone of a fix-first series is booted


@dataclass
class Options:
    kernel: Path
    out: Path
    accel: str = "auto"
    deadline: float = defaults.TIMEOUT_BOOT
    append: tuple[str, ...] = ()
    smoke: bool = True
    guest_cmd: str = ""
    memory_mb: int = defaults.BOOT_MEMORY_MB
    dax: bool = True        # the in-guest DAX check (guest/kvm-dax.c)
    base_kernel: Path | None = None   # the base's image: booted when the patched one fails
    history: Path | None = None       # the data dir: each check's history here (history.py)
    fix_kernel: Path | None = None    # patch 1 alone of a fix-first series: booted with DAX


@dataclass
class QemuRun:
    returncode: int | None = None
    timed_out: bool = False
    silent: bool = False            # killed as a failed KVM probe: no console output in time
    seconds: float = 0.0


@dataclass
class State:
    opts: Options
    started: float = field(default_factory=time.monotonic)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def deadline_at(self) -> float:
        return self.started + self.opts.deadline

    def remaining(self) -> float:
        return self.deadline_at - time.monotonic()


def check_inputs(opts: Options) -> None:
    if not opts.kernel.is_file():
        raise UserError(f"kernel image {opts.kernel} not found: pass --kernel the bzImage "
                        "(cocci-bot build writes it as `kernel` in build.json)")
    if opts.deadline <= 0:
        raise UserError("--timeout must be a positive number of seconds")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _guest_done(verdict_log: Path) -> bool:
    return console.parse_channel(_read(verdict_log)).ended


def watch(p: Any, out: Path, until: float, probe_until: float | None) -> QemuRun:
    """Wait for QEMU to exit, the guest to finish, the deadline or a silent KVM probe."""
    start, done_at = time.monotonic(), None
    run = QemuRun()
    while (rc := p.poll()) is None:
        now = time.monotonic()
        if now >= until:
            run.timed_out = True
            break
        if probe_until is not None and now >= probe_until and \
                console.KERNEL_STARTED not in _read(out / CONSOLE):
            run.silent = True
            break
        if done_at is None and _guest_done(out / VERDICT):
            done_at = now
        if done_at is not None and now - done_at > defaults.BOOT_DONE_GRACE:
            break     # the guest reported everything but QEMU lingers: stop it
        time.sleep(defaults.BOOT_POLL)
    run.returncode = rc
    run.seconds = time.monotonic() - start
    return run


def kernel_args(opts: Options) -> tuple[str, ...]:
    """Kernel command-line arguments beyond defaults.BOOT_CMDLINE."""
    return ((defaults.BOOT_DAX_MEMMAP,) if opts.dax else ()) + opts.append


def one_qemu_run(state: State, machine: qemu.Machine, initrd: Path, probe: bool) -> QemuRun:
    out = state.opts.out
    for name in (CONSOLE, VERDICT):
        (out / name).unlink(missing_ok=True)
    argv = qemu.boot_argv(machine, state.opts.kernel.resolve(), initrd, out / CONSOLE,
                          out / VERDICT, append=kernel_args(state.opts),
                          memory_mb=state.opts.memory_mb)
    state.record["reproducer"] = proc.cmdline(argv)
    probe_until = time.monotonic() + defaults.TIMEOUT_KVM_FIRST_LINE if probe else None
    started = time.monotonic()

    def where() -> str:
        return (f"{machine.accel} guest: {console.phase(_read(out / CONSOLE), _read(out / VERDICT))}"
                f", {live.elapsed(time.monotonic() - started)}")

    with proc.spawn(argv, stdout=out / QEMU_LOG) as p, \
            live.ticking("boot", where, state_file=out / live.FILE):
        return watch(p, out, state.deadline_at, probe_until)


def kvm_probe_failure(run: QemuRun, out: Path) -> str | None:
    """Why the KVM probe attempt shows KVM cannot run this guest (None: it can)."""
    if run.silent:
        return (f"the guest printed nothing within {defaults.TIMEOUT_KVM_FIRST_LINE} s under KVM "
                "(nested virtualisation?)")
    if run.returncode not in (0, None) and console.KERNEL_STARTED not in _read(out / CONSOLE):
        tail = " | ".join(_read(out / QEMU_LOG).strip().splitlines()[-2:])
        return f"QEMU -accel kvm exited with status {run.returncode}: {tail}"
    return None


def attempt(state: State, machine: qemu.Machine, initrd: Path,
            probe: bool) -> tuple[console.Outcome, QemuRun | None]:
    """One QEMU run judged; QEMU that cannot be started is an infra-error outcome."""
    try:
        run = one_qemu_run(state, machine, initrd, probe)
    except InfraError as exc:
        return console.Outcome("infra-error", str(exc), "skipped", None), None
    out = state.opts.out
    outcome = console.judge(_read(out / CONSOLE), _read(out / VERDICT),
                            returncode=run.returncode, timed_out=run.timed_out,
                            deadline=state.opts.deadline, smoke_wanted=state.opts.smoke,
                            dax_wanted=state.opts.dax)
    return outcome, run


def note_attempt(state: State, machine: qemu.Machine, outcome: console.Outcome,
                 run: QemuRun | None, reason: str | None = None) -> None:
    state.attempts.append({
        "accel": machine.accel, "cpu": machine.cpu,
        "seconds": round(run.seconds, 2) if run else 0.0,
        "verdict": "kvm-unusable" if reason else outcome.verdict,
        "reason": reason or outcome.reason,
        "tsc_calibrated": outcome.tsc_calibrated,
    })
    progress("boot", f"attempt {len(state.attempts)} ({machine.accel}): "
                     f"{state.attempts[-1]['verdict']}: {state.attempts[-1]['reason']}")


def boot_loop(state: State, initrd: Path) -> tuple[console.Outcome, qemu.Machine, QemuRun | None]:
    machine, probe = accel.initial(state.opts.accel)
    infra_tries = stalls = 0
    while True:
        progress("boot", f"booting {state.opts.kernel} under {machine.accel} (-cpu {machine.cpu})")
        outcome, run = attempt(state, machine, initrd, probe)
        unusable = kvm_probe_failure(run, state.opts.out) if probe and run else None
        note_attempt(state, machine, outcome, run, unusable)
        if unusable:
            accel.remember_failure(unusable)
            machine, probe = accel.tcg(f"KVM probe failed: {unusable}"), False
            continue
        probe = False
        if outcome.smoke_stalled and machine.accel == "tcg" and \
                stalls < defaults.BOOT_SMOKE_STALL_RETRIES and state.remaining() > 0:
            stalls += 1
            state.attempts[-1]["verdict"] = "smoke-stalled"
            continue
        if outcome.infra:
            infra_tries += 1
            if infra_tries < defaults.BOOT_INFRA_RETRIES and state.remaining() > 0:
                continue
        return outcome, machine, run


def result_record(state: State, outcome: console.Outcome, machine: qemu.Machine,
                  run: QemuRun | None) -> dict[str, Any]:
    rec = state.record
    rec.update({
        "status": Status.of(outcome.verdict), "verdict": outcome.verdict, "reason": outcome.reason,
        "accel": machine.accel, "cpu": machine.cpu, "accel_reason": machine.reason,
        "kvm_smoke": outcome.kvm_smoke,
        "dax": {"status": outcome.dax, "reason": outcome.dax_reason},
        "kvm_smoke_stalls": sum(a["verdict"] == "smoke-stalled" for a in state.attempts)
        + int(outcome.smoke_stalled),
        "guest_kernel": outcome.guest_kernel,
        "first_bad_line": outcome.first_bad_line, "bad_lines": list(outcome.bad_lines),
        "attempts": state.attempts, "retries": max(0, len(state.attempts) - 1),
    })
    rec["durations"]["boot"] = round(run.seconds, 2) if run else 0.0
    rec["durations"]["total"] = round(time.monotonic() - state.started, 2)
    return rec


def initial_record(opts: Options) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "status": Status.RUNNING, "verdict": None, "reason": "running", "accel": None, "cpu": None, "accel_reason": None,
        "kvm_smoke": None, "dax": None, "kvm_smoke_stalls": 0, "guest_kernel": None,
        "first_bad_line": None, "bad_lines": [],
        "durations": {}, "attempts": [], "kernel": str(opts.kernel.resolve()),
        "initramfs": None, "deadline": opts.deadline, "reproducer": None,
        "console_log": CONSOLE, "verdict_log": VERDICT, "qemu_log": QEMU_LOG,
    }


def boot(opts: Options) -> dict[str, Any]:
    """Boot opts.kernel and return the boot.json record (also written to opts.out)."""
    check_inputs(opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    state = State(opts, record=initial_record(opts))
    jsonfile.write(opts.out / "boot.json", state.record)
    t0 = time.monotonic()
    initrd = initramfs.build(opts.out / "initramfs.cpio", opts.out / "guest",
                             smoke=opts.smoke, guest_cmd=opts.guest_cmd, dax=opts.dax)
    state.record["initramfs"] = str(initrd)
    state.record["durations"]["initramfs"] = round(time.monotonic() - t0, 2)
    outcome, machine, run = boot_loop(state, initrd)
    record = result_record(state, outcome, machine, run)
    jsonfile.write(opts.out / "boot.json", record)
    if opts.base_kernel is not None and attribution.failed(record):
        attribute(opts, record)
    if opts.fix_kernel is not None:
        fix_first(opts, record)
    if opts.history is not None:
        history.record(opts.history, record)
        record["history"] = history.summary(opts.history)
    jsonfile.write(opts.out / "boot.json", record)
    return record


def fix_first(opts: Options, record: dict[str, Any]) -> None:
    """Boot patch 1 alone of a fix-first series with the DAX check (OUTDIR/fix-first/): the fix
    must boot and pass it on its own, or the series fails (a bisect would land on it)."""
    assert opts.fix_kernel is not None
    progress("boot", f"booting patch 1 alone ({opts.fix_kernel}) with the DAX check")
    try:
        fix = boot(Options(kernel=opts.fix_kernel, out=opts.out / FIX_DIR,
                           accel=record["accel"] or opts.accel, deadline=opts.deadline,
                           append=opts.append, smoke=opts.smoke, guest_cmd=opts.guest_cmd,
                           memory_mb=opts.memory_mb, dax=True))
    except InfraError as exc:
        fix = {"verdict": "infra-error", "reason": str(exc)}
    if opts.history is not None and "attempts" in fix:
        history.record(opts.history, fix, kernel="fix-first")
    dax = fix.get("dax") or {"status": "skipped", "reason": fix["reason"]}
    ok = fix["verdict"] == "pass" and dax.get("status") == "pass"
    record["fix_first"] = {"status": Status.PASS if ok else Status.FAIL,
                           "verdict": fix["verdict"], "reason": fix["reason"], "dax": dax,
                           "kernel": str(opts.fix_kernel)}
    record["durations"]["fix_first"] = fix.get("durations", {}).get("total")
    if not ok:
        record["status"] = Status.FAIL
        record["reason"] += (f"; patch 1 alone (the fix): boot {fix['verdict']}, dax "
                             f"{dax.get('status')}: {dax.get('reason') or fix['reason']}")
    progress("boot", f"patch 1 alone: boot {fix['verdict']}, dax {dax.get('status')}")


def attribute(opts: Options, record: dict[str, Any]) -> None:
    """Boot the base kernel the same way (in OUTDIR/base/) and say whose fault each failed check
    is; only the series' failures keep the status FAIL."""
    assert opts.base_kernel is not None
    if not opts.base_kernel.is_file():
        record["attribution"] = {"checks": {}, "caused_by_series": True,
                                 "summary": f"base kernel {opts.base_kernel} missing: "
                                            f"{attribution.UNKNOWN}"}
        return
    progress("boot", f"patched kernel failed {', '.join(attribution.failed(record))}: "
                     "booting the base kernel the same way")
    try:
        base = boot(Options(kernel=opts.base_kernel, out=opts.out / "base",
                            accel=record["accel"], deadline=opts.deadline, append=opts.append,
                            smoke=opts.smoke, guest_cmd=opts.guest_cmd,
                            memory_mb=opts.memory_mb, dax=opts.dax))
    except InfraError as exc:      # the base could not be booted: judged "unknown", said why
        base = {"verdict": "infra-error", "reason": str(exc)}
    if opts.history is not None:
        history.record(opts.history, base, kernel="base")
    att = attribution.attribute(record, base)
    record["attribution"] = att
    record["durations"]["base"] = base.get("durations", {}).get("total")
    record["status"] = Status.FAIL if att["caused_by_series"] else Status.PASS
    record["reason"] += f" ({att['summary']})"
    progress("boot", f"attribution: {att['summary']}")


def exit_code(record: dict[str, Any]) -> int:
    """The boot's exit status; a failed DAX check fails a boot that passed; failures the base
    kernel has too do not fail it (attribution)."""
    if Status.of((record.get("fix_first") or {}).get("status", "PASS")) is Status.FAIL:
        return EXIT_FAILED
    att = record.get("attribution")
    if att and not att["caused_by_series"]:
        return EXIT_OK
    code = EXIT_BY_VERDICT[record["verdict"]]
    dax = record.get("dax") or {}
    return EXIT_FAILED if code == EXIT_OK and dax.get("status") == "fail" else code


def summary(record: dict[str, Any]) -> str:
    verdict = str(record["verdict"]).upper()
    stalls = (f" after {record['kvm_smoke_stalls']} stalled boot(s)"
              if record["kvm_smoke_stalls"] else "")
    dax = record.get("dax") or {}
    line = (f"boot: {verdict} {record['accel']} ({record['cpu']}), kvm_smoke "
            f"{record['kvm_smoke']}{stalls}, dax {dax.get('status')}, "
            f"{record['durations']['total']:.1f} s")
    if verdict != "PASS":
        line += f": {record['reason']}"
    if dax.get("status") == "fail":
        line += f"; dax: {dax.get('reason')}"
    if record.get("attribution"):
        line += f"; {record['attribution']['summary']}"
    return line
