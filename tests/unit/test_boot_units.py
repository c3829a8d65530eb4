"""Boot stage, fast parts: argv builders (list equality), cpio, console verdict rules,
accelerator choice, and QEMU infrastructure failures (missing, cannot start) end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import cli, defaults
from bot.boot import accel, console, cpio, initramfs, kvmprobe, qemu


def test_boot_argv_tcg():
    m = qemu.Machine("tcg", "qemu64,+svm", "why")
    argv = qemu.boot_argv(m, Path("/k/bzImage"), Path("/o/initramfs.cpio"), Path("/o/console.log"),
                          Path("/o/verdict.log"), append=("init=/x",), memory_mb=256)
    assert argv == [
        "qemu-system-x86_64", "-accel", "tcg", "-icount", "shift=auto,sleep=off",
        "-cpu", "qemu64,+svm", "-m", "256", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-kernel", "/k/bzImage", "-initrd", "/o/initramfs.cpio",
        "-append", "console=ttyS0 panic=-1 rdinit=/init init=/x",
        "-chardev", "file,id=console,path=/o/console.log", "-serial", "chardev:console",
        "-chardev", "file,id=verdict,path=/o/verdict.log", "-serial", "chardev:verdict",
    ]


def test_boot_argv_kvm_uses_host_cpu_and_named_qemu():
    argv = qemu.boot_argv(accel.kvm("probe"), Path("k"), Path("i"), Path("c"), Path("v"),
                          qemu="/opt/qemu")
    assert argv[:5] == ["/opt/qemu", "-accel", "kvm", "-cpu", "host"]
    assert "-icount" not in argv


def test_stall_with_an_uncalibrated_tsc_names_the_cause():
    stalled = CHANNEL_OK.replace("cocci-bot: kvm_smoke=pass", "cocci-bot: kvm_smoke_stall=1\r\n"
                                 "cocci-bot: kvm_smoke=fail KVM_RUN stalled")
    bad_tsc = "Linux version 5.10.223\ntsc: Marking TSC unstable due to could not calculate TSC khz\n"
    o = judge(console_text=bad_tsc, channel=stalled)
    assert o.smoke_stalled and not o.tsc_calibrated and console.TSC_STALL_CAUSE in o.reason
    o = judge(channel=stalled)
    assert o.smoke_stalled and o.tsc_calibrated and console.TSC_STALL_CAUSE not in o.reason


def test_compile_argv():
    assert initramfs.compile_argv(Path("/g/kvm-smoke.c"), Path("/w/kvm-smoke")) == [
        "gcc", "-static", "-O2", "-Wall", "-o", "/w/kvm-smoke", "/g/kvm-smoke.c"]


def test_cpio_round_trip_with_real_cpio(tmp_path):
    data = cpio.archive([cpio.directory("bin"), cpio.file("bin/hello", b"hi\n"),
                         cpio.symlink("bin/sh", "hello"), cpio.chardev("console", 5, 1)])
    listing = subprocess.run(["cpio", "-itv"], input=data, capture_output=True, check=True)
    lines = listing.stdout.decode().splitlines()
    assert [line.split()[-1] for line in lines] == ["bin", "bin/hello", "hello", "console"]
    assert lines[2].startswith("l") and "bin/sh -> hello" in lines[2]
    assert lines[3].startswith("c") and "5,   1" in lines[3]
    subprocess.run(["cpio", "-id", "--quiet"], input=data, cwd=tmp_path, check=False)
    assert (tmp_path / "bin" / "hello").read_bytes() == b"hi\n"


CHANNEL_OK = ("cocci-bot: begin\r\ncocci-bot: kernel=5.10.223\r\ncocci-bot: dev_kvm=present\r\n"
              "cocci-bot: kvm_smoke: VM created\r\ncocci-bot: kvm_smoke=pass\r\n"
              "cocci-bot: dax: dax0.0 on namespace0.0\r\ncocci-bot: dax=pass\r\ncocci-bot: end\r\n")
CONSOLE_OK = "Linux version 5.10.223 (tuxmake@tuxmake)\nRun /init as init process\n"


def judge(console_text=CONSOLE_OK, channel=CHANNEL_OK, rc=0, timed_out=False, smoke=True):
    return console.judge(console_text, channel, returncode=rc, timed_out=timed_out, deadline=60,
                         smoke_wanted=smoke)


def test_judge_pass():
    o = judge()
    assert (o.verdict, o.kvm_smoke, o.guest_kernel, o.first_bad_line) == \
        ("pass", "pass", "5.10.223", None)


@pytest.mark.parametrize("line", [
    "WARNING: CPU: 0 PID: 1 at mm/gup.c:12 foo+0x1/0x2",
    "BUG: kernel NULL pointer dereference, address: 0000000000000000",
    "Oops: 0000 [#1] SMP",
    "BUG: KASAN: use-after-free in kvm_release_pfn_clean+0x1/0x2",
    "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [init:1]",
    "Kernel panic - not syncing: Attempted to kill init!",
    "kernel BUG at virt/kvm/kvm_main.c:123!",
])
def test_judge_bad_console_line_fails_and_is_quoted(line):
    o = judge(console_text=CONSOLE_OK + "[    1.0] " + line + "\r\nmore\n")
    assert o.verdict == "fail"
    assert o.first_bad_line == "[    1.0] " + line
    assert line in o.reason


def test_guest_echo_on_console_is_not_a_bad_line():
    assert judge(console_text=CONSOLE_OK + "cocci-bot: kvm_smoke=fail BUG: x\n").verdict == "pass"


def test_judge_timeout_is_fail_not_infra():
    o = judge(channel="cocci-bot: begin\n", rc=None, timed_out=True)
    assert o.verdict == "fail" and "deadline of 60 s" in o.reason
    assert "last console line: 'Run /init as init process'" in o.reason


def test_judge_qemu_error_is_infra():
    assert judge(console_text="", channel="", rc=1).verdict == "infra-error"


def test_judge_guest_without_verdict_fails():
    o = judge(channel="cocci-bot: begin\n")
    assert o.verdict == "fail" and "before reporting" in o.reason


def test_judge_smoke_fail_and_missing_kvm_and_skip():
    failed = CHANNEL_OK.replace("kvm_smoke=pass", "kvm_smoke=fail dirty log")
    assert (judge(channel=failed).verdict, judge(channel=failed).kvm_smoke) == ("fail", "fail")
    missing = "cocci-bot: begin\ncocci-bot: dev_kvm=missing\ncocci-bot: end\n"
    assert "no /dev/kvm" in judge(channel=missing).reason
    assert (judge(channel=missing, smoke=False).verdict,
            judge(channel=missing, smoke=False).kvm_smoke) == ("pass", "skipped")


def test_accel_choice(monkeypatch, tmp_path):
    assert accel.initial("tcg")[0] == qemu.Machine("tcg", "qemu64,+svm",
                                                   "requested with --accel tcg")
    assert accel.initial("kvm") == (accel.kvm("requested with --accel kvm"), False)
    monkeypatch.setattr(accel, "DEV_KVM", tmp_path / "nokvm")
    machine, probe = accel.initial("auto")
    assert (machine.accel, probe) == ("tcg", False) and "nokvm" in machine.reason


def test_accel_remembers_the_probe_verdict_for_this_host_boot(monkeypatch, tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")                      # accessible, but not a KVM device: the probe fails
    monkeypatch.setattr(accel, "DEV_KVM", dev)
    monkeypatch.setattr(accel, "memo_path", lambda: tmp_path / "memo.json")
    accel.remember(True, "a halting guest ran", 2.0)
    assert accel.initial("auto") == (accel.kvm("KVM probe: a halting guest ran"), True)
    accel.remember_failure("it hung")
    machine, probe = accel.initial("auto")
    assert (machine.accel, probe) == ("tcg", False) and "it hung" in machine.reason
    monkeypatch.setattr(accel, "_boot_id", lambda: "another-boot")
    assert accel.remembered() is None
    machine, probe = accel.initial("auto")           # probes again: a real run of kvmprobe
    assert (machine.accel, probe) == ("tcg", False)
    assert accel.remembered()["works"] is False


def test_probe_output_and_exit_cost_verdicts():
    assert accel.parse_probe_output("running\n") is None
    v = accel.parse_probe_output('running\n{"works": true, "reason": "ok", "exit_us": 3.5}\n')
    assert v == kvmprobe.Verdict(True, "ok", 3.5)
    assert accel.parse_probe_output("{garbage\n").works is False
    assert kvmprobe.verdict_of(kvmprobe.PROBE_EXITS + 1, 3.0).works is True
    slow = kvmprobe.verdict_of(kvmprobe.PROBE_EXITS + 1, defaults.KVM_PROBE_MAX_EXIT_US + 1)
    assert not slow.works and "a guest exit costs" in slow.reason
    assert not kvmprobe.verdict_of(3, 1.0).works
    assert kvmprobe.GUEST_CODE[-1:] == b"\xf4" and len(kvmprobe.GUEST_CODE) <= 16


def test_probe_that_never_returns_is_killed_at_its_deadline(monkeypatch, tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    monkeypatch.setattr(accel, "DEV_KVM", dev)
    monkeypatch.setattr(accel, "memo_path", lambda: tmp_path / "memo.json")
    pidfile = tmp_path / "pid"
    hang = f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); " \
           "print('running', flush=True); time.sleep(60)"
    monkeypatch.setattr(accel, "probe_argv", lambda: [sys.executable, "-c", hang])
    t0 = time.monotonic()
    memo = accel.start_probe().join()
    assert time.monotonic() - t0 < 10
    assert memo["works"] is False and "did not finish within 1 s" in memo["reason"]
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


@pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="needs /dev/kvm")
def test_real_host_probe_runs_a_guest_to_hlt():
    """The probe's guest on this host's KVM: it halts (a verdict with a measured exit cost),
    whether or not that cost is low enough for KVM boots."""
    verdict = kvmprobe.run_probe_guest()
    assert verdict.exit_us > 0, verdict.reason
    assert ("us a guest exit" in verdict.reason) is verdict.works


def test_unknown_accel_is_usage_error(tmp_path, capsys):
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"x")
    assert cli.main(["boot", "--kernel", str(kernel), "--out", str(tmp_path / "o"),
                     "--accel", "xen"]) == 2
    assert "kvm, tcg" in capsys.readouterr().err


def test_missing_kernel_is_usage_error(tmp_path, capsys):
    assert cli.main(["boot", "--kernel", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "--kernel" in capsys.readouterr().err


def test_qemu_missing_is_infra_error_after_retries(tmp_path, monkeypatch):
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"not a kernel")
    monkeypatch.setattr(defaults, "QEMU", str(tmp_path / "no-such-qemu-system-x86_64"))
    out = tmp_path / "boot"
    assert cli.main(["boot", "--kernel", str(kernel), "--out", str(out), "--accel", "tcg"]) == 3
    rec = json.loads((out / "boot.json").read_text())
    assert rec["verdict"] == "infra-error"
    assert "not found" in rec["reason"] and "qemu-system-x86" in rec["reason"]
    assert len(rec["attempts"]) == defaults.BOOT_INFRA_RETRIES


def test_qemu_that_cannot_start_is_retried_then_infra_error(tmp_path, shim_path):
    calls = tmp_path / "calls"
    shim_path("qemu-system-x86_64",
              f"#!/bin/sh\necho start >> {calls}\necho 'could not open kernel' >&2\nexit 1\n")
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"x")
    out = tmp_path / "boot"
    assert cli.main(["boot", "--kernel", str(kernel), "--out", str(out), "--accel", "tcg"]) == 3
    assert calls.read_text().count("start") == defaults.BOOT_INFRA_RETRIES
    rec = json.loads((out / "boot.json").read_text())
    assert rec["verdict"] == "infra-error" and "status 1" in rec["reason"]
    assert "could not open kernel" in (out / "qemu.log").read_text()


def test_kvm_probe_failure_reasons(tmp_path):
    from bot.boot.run import QemuRun, kvm_probe_failure

    assert "printed nothing" in kvm_probe_failure(QemuRun(silent=True), tmp_path)
    (tmp_path / "qemu.log").write_text("qemu: error: failed to set MSR 0x10a\n")
    assert "failed to set MSR" in kvm_probe_failure(QemuRun(returncode=134), tmp_path)
    (tmp_path / "console.log").write_text("Linux version 5.10\nKernel panic\n")
    assert kvm_probe_failure(QemuRun(returncode=0), tmp_path) is None


def test_smoke_stalls_are_counted_and_reported():
    stalled = CHANNEL_OK.replace("cocci-bot: kvm_smoke=pass", "cocci-bot: kvm_smoke_stall=1\r\n"
                                 "cocci-bot: kvm_smoke=pass")
    o = judge(channel=stalled)
    assert (o.verdict, o.smoke_stalls) == ("pass", 1) and "1 stalled try" in o.reason
    all_stalled = CHANNEL_OK.replace("kvm_smoke=pass", "kvm_smoke_stall=3\r\ncocci-bot: "
                                     "kvm_smoke=fail KVM_RUN stalled")
    assert judge(channel=all_stalled).verdict == "fail"


FAKE_QEMU = """#!/usr/bin/env python3
# a QEMU stand-in: writes a console and a verdict channel; the Nth run's channel comes from
# the Nth file in CHANNELS (the last one repeats)
import sys, pathlib
paths = dict(a.split(",id=")[1].split(",path=") for a in sys.argv if a.startswith("file,id="))
count = pathlib.Path("COUNT")
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
channels = CHANNELS
pathlib.Path(paths["console"]).write_text("Linux version 5.10.223\\nRun /init as init process\\n")
pathlib.Path(paths["verdict"]).write_text(channels[min(n, len(channels) - 1)])
"""
STALLED = CHANNEL_OK.replace("cocci-bot: kvm_smoke=pass", "cocci-bot: kvm_smoke_stall=1\r\n"
                             "cocci-bot: kvm_smoke=fail KVM_RUN stalled")


def fake_qemu(shim_path, tmp_path, channels):
    script = FAKE_QEMU.replace("COUNT", str(tmp_path / "count")).replace("CHANNELS", repr(channels))
    shim_path("qemu-system-x86_64", script)
    return tmp_path / "count"


def test_smoke_stall_under_tcg_is_retried_with_a_fresh_boot(tmp_path, shim_path):
    count = fake_qemu(shim_path, tmp_path, [STALLED, CHANNEL_OK])
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"x")
    out = tmp_path / "boot"
    assert cli.main(["boot", "--kernel", str(kernel), "--out", str(out), "--accel", "tcg"]) == 0
    rec = json.loads((out / "boot.json").read_text())
    assert [a["verdict"] for a in rec["attempts"]] == ["smoke-stalled", "pass"]
    assert (rec["verdict"], rec["kvm_smoke"], rec["kvm_smoke_stalls"]) == ("pass", "pass", 1)
    assert count.read_text() == "2"


def test_smoke_that_always_stalls_fails(tmp_path, shim_path):
    count = fake_qemu(shim_path, tmp_path, [STALLED])
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"x")
    out = tmp_path / "boot"
    assert cli.main(["boot", "--kernel", str(kernel), "--out", str(out), "--accel", "tcg"]) == 1
    rec = json.loads((out / "boot.json").read_text())
    assert rec["verdict"] == "fail" and "stalled" in rec["reason"]
    assert rec["kvm_smoke_stalls"] == 1 + defaults.BOOT_SMOKE_STALL_RETRIES
    assert count.read_text() == str(1 + defaults.BOOT_SMOKE_STALL_RETRIES)


def test_smoke_stall_is_not_retried_under_kvm(tmp_path, shim_path):
    count = fake_qemu(shim_path, tmp_path, [STALLED, CHANNEL_OK])
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"x")
    assert cli.main(["boot", "--kernel", str(kernel), "--out", str(tmp_path / "b"),
                     "--accel", "kvm"]) == 1
    assert count.read_text() == "1"


def test_dax_verdicts_from_the_channel():
    leak = CHANNEL_OK.replace("cocci-bot: dax=pass", "cocci-bot: dax=fail page reference leak: "
                              "dax0.0 did not go away")
    o = console.judge(CONSOLE_OK, leak, returncode=None, timed_out=False, deadline=60,
                      dax_wanted=True)
    assert (o.verdict, o.dax) == ("pass", "fail") and o.dax_reason.startswith("page reference leak")
    assert judge().dax == "skipped"                          # not requested
    o = console.judge(CONSOLE_OK, CHANNEL_OK, returncode=0, timed_out=False, deadline=60,
                      dax_wanted=True)
    assert o.dax == "pass"
    no_pmem = CHANNEL_OK.replace("dax=pass", "dax=skipped no persistent memory namespace")
    o = console.judge(CONSOLE_OK, no_pmem, returncode=0, timed_out=False, deadline=60,
                      dax_wanted=True)
    assert (o.dax, o.dax_reason) == ("skipped", "no persistent memory namespace")
    hung = "cocci-bot: begin\ncocci-bot: dax: VM created\n"
    o = console.judge(CONSOLE_OK, hung, returncode=None, timed_out=True, deadline=60,
                      dax_wanted=True)
    assert o.dax == "fail" and "during the DAX check" in o.dax_reason
    early = console.judge("Linux version 5.10\nKernel panic - not syncing\n", "", returncode=None,
                          timed_out=False, deadline=60, dax_wanted=True)
    assert early.dax == "skipped" and "before the DAX check" in early.dax_reason


def test_dax_check_is_posted_and_fails_the_boot_exit(tmp_path):
    from bot.boot import run as boot_run
    from bot.post import outdir

    boot = tmp_path / "boot"
    boot.mkdir()
    rec = {"verdict": "pass", "accel": "tcg", "cpu": "qemu64,+svm", "kvm_smoke": "pass",
           "dax": {"status": "fail", "reason": "page reference leak: dax0.0 stayed"}}
    (boot / "boot.json").write_text(json.dumps(rec))
    checks = {c["context"]: c for c in outdir.checks(tmp_path, {})}
    assert checks["dax"]["state"] == "fail" and "page reference leak" in checks["dax"]["description"]
    assert boot_run.exit_code(rec) == 1
    assert boot_run.exit_code({**rec, "dax": {"status": "pass", "reason": ""}}) == 0


def test_boot_with_dax_reserves_pmem_on_the_kernel_command_line(tmp_path):
    from bot.boot import run as boot_run

    opts = boot_run.Options(kernel=tmp_path / "k", out=tmp_path, append=("quiet",), dax=True)
    assert boot_run.kernel_args(opts) == ("memmap=128M!256M", "quiet")
    assert boot_run.kernel_args(boot_run.Options(kernel=tmp_path, out=tmp_path)) == \
        ("memmap=128M!256M",)                                       # on by default
    assert boot_run.kernel_args(boot_run.Options(kernel=tmp_path, out=tmp_path, dax=False)) == ()
