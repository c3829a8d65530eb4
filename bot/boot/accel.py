"""Choosing the accelerator: KVM only when the host proves it runs a guest well, else TCG.

The proof is a probe on the host itself (bot/boot/kvmprobe.py): a VM with one page of
real-mode code that does a few thousand port writes and halts, under a deadline of
defaults.TIMEOUT_KVM_PROBE from its first KVM_RUN. KVM is chosen when the guest halts in time
and one guest exit costs at most defaults.KVM_PROBE_MAX_EXIT_US. The verdict, either way, is
remembered for the rest of the host's uptime (keyed by /proc/sys/kernel/random/boot_id).

`start_probe()` starts the probe in the background and returns a handle whose `join()` gives
the verdict, so the pipeline can run it while the build runs; `initial()` joins one itself
when no verdict is remembered. A boot under KVM still gives up on KVM when the guest prints
no console line within defaults.TIMEOUT_KVM_FIRST_LINE (bot/boot/run.py): the last defence.
TCG runs with `-cpu qemu64,+svm` (SVM without nested paging, so the guest's own KVM works).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bot import defaults, jsonfile, proc
from bot.boot import kvmprobe
from bot.boot.qemu import Machine
from bot.errors import InfraError, UserError

CHOICES = ("auto", "kvm", "tcg")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
DEV_KVM = Path("/dev/kvm")
PROBE_POLL = 0.02


def tcg(reason: str) -> Machine:
    return Machine("tcg", defaults.BOOT_CPU_TCG, reason)


def kvm(reason: str) -> Machine:
    return Machine("kvm", defaults.BOOT_CPU_KVM, reason)


def memo_path() -> Path:
    return defaults.cache_dir() / "kvm-probe.json"


def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def remembered() -> dict[str, Any] | None:
    """The probe verdict recorded during this host boot, if there is one."""
    try:
        memo = json.loads(memo_path().read_text())
    except (OSError, ValueError):
        return None
    if memo.get("boot_id") != _boot_id() or not isinstance(memo.get("works"), bool):
        return None
    return dict(memo)


def remember(works: bool, reason: str, exit_us: float = 0.0) -> dict[str, Any]:
    memo = {"boot_id": _boot_id(), "works": works, "reason": reason, "exit_us": exit_us}
    jsonfile.write(memo_path(), memo)
    return memo


def remember_failure(reason: str) -> None:
    remember(False, reason)


def probe_argv() -> list[str]:
    return [sys.executable, "-m", "bot.boot.kvmprobe", str(DEV_KVM)]


def parse_probe_output(text: str) -> kvmprobe.Verdict | None:
    """The probe's verdict line, or None when it printed none (still running, or killed)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
                return kvmprobe.Verdict(bool(data["works"]), str(data["reason"]),
                                        float(data.get("exit_us", 0.0)))
            except (ValueError, KeyError, TypeError):
                return kvmprobe.Verdict(False, f"the probe printed {line!r}")
    return None


class Probe:
    """A host KVM probe: finished already (a remembered or obvious verdict) or running."""

    def __init__(self, memo: dict[str, Any] | None = None, log: Path | None = None) -> None:
        self.memo = memo
        self.log = log
        self._stack = contextlib.ExitStack()
        self._process: Any = None
        self._started = time.monotonic()
        self._running_at: float | None = None      # when the probe announced its KVM_RUN
        if memo is None and log is not None:
            self._process = self._stack.enter_context(proc.spawn(probe_argv(), stdout=log,
                                                                 cwd=defaults.project_root()))

    def _poll(self) -> kvmprobe.Verdict | None:
        """The verdict once there is one; None while the probe is within its deadlines."""
        text = self.log.read_text(errors="replace") if self.log else ""
        verdict = parse_probe_output(text)
        if verdict is not None:
            return verdict
        now = time.monotonic()
        if self._running_at is None and kvmprobe.RUNNING in text.splitlines():
            self._running_at = now
        if self._running_at is not None and self._process.poll() is None and \
                now - self._running_at > defaults.TIMEOUT_KVM_PROBE:
            return kvmprobe.Verdict(False, f"KVM_RUN did not finish within "
                                    f"{defaults.TIMEOUT_KVM_PROBE:g} s")
        if self._process.poll() is not None:
            return kvmprobe.Verdict(False, f"the probe exited with status "
                                    f"{self._process.returncode}: {text.strip()[-200:]}")
        if now - self._started > defaults.TIMEOUT_KVM_PROBE_START:
            return kvmprobe.Verdict(False, f"the probe did not reach KVM_RUN within "
                                    f"{defaults.TIMEOUT_KVM_PROBE_START} s")
        return None

    def join(self) -> dict[str, Any]:
        """Wait for the verdict (killing a probe past its deadline), remember and return it."""
        if self.memo is not None:
            return self.memo
        try:
            while (verdict := self._poll()) is None:
                time.sleep(PROBE_POLL)
        except InfraError as exc:
            verdict = kvmprobe.Verdict(False, str(exc))
        finally:
            self._stack.close()
        self.memo = remember(verdict.works, verdict.reason, verdict.exit_us)
        return self.memo


def start_probe() -> Probe:
    """Start the host KVM probe (or answer at once when this host boot has a verdict)."""
    if not os.access(DEV_KVM, os.R_OK | os.W_OK):
        return Probe({"works": False, "reason": f"{DEV_KVM} is missing or not accessible"})
    memo = remembered()
    if memo is not None:
        return Probe(memo)
    log = memo_path().with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        return Probe(log=log)
    except InfraError as exc:
        return Probe(remember(False, str(exc)))


def initial(request: str, probe: Probe | None = None) -> tuple[Machine, bool]:
    """The machine of the first attempt, and whether its console is to be watched as the
    last proof that KVM works (only under `auto`)."""
    if request not in CHOICES:
        raise UserError(f"unknown accelerator {request!r}: pass --accel one of {', '.join(CHOICES)}")
    if request == "tcg":
        return tcg("requested with --accel tcg"), False
    if request == "kvm":
        return kvm("requested with --accel kvm"), False
    memo = (probe or start_probe()).join()
    if not memo["works"]:
        return tcg(f"KVM probe: {memo['reason']}; see {memo_path()}"), False
    return kvm(f"KVM probe: {memo['reason']}"), True
