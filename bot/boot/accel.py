"""Choosing the accelerator: KVM only when it is proven to run a guest, else TCG.

The proof is the boot itself: under `--accel auto` the first attempt runs under KVM with a
short deadline (defaults.TIMEOUT_KVM_PROBE) for the kernel's first console line. If QEMU fails
or the guest stays silent (nested virtualisation where KVM_RUN never returns), that attempt is
killed and the boot continues under TCG with `-cpu qemu64,+svm` (SVM without nested paging, so
the guest's own KVM works). A failed probe is remembered for the rest of the host's uptime
(keyed by /proc/sys/kernel/random/boot_id) so later boots go straight to TCG.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot import defaults, jsonfile
from bot.boot.qemu import Machine
from bot.errors import UserError

CHOICES = ("auto", "kvm", "tcg")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
DEV_KVM = Path("/dev/kvm")


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


def remembered_failure() -> str | None:
    """The reason KVM failed earlier during this host boot, if it did."""
    try:
        memo = json.loads(memo_path().read_text())
    except (OSError, ValueError):
        return None
    if memo.get("boot_id") == _boot_id() and memo.get("works") is False:
        return str(memo.get("reason"))
    return None


def remember_failure(reason: str) -> None:
    jsonfile.write(memo_path(), {"boot_id": _boot_id(), "works": False, "reason": reason})


def initial(request: str) -> tuple[Machine, bool]:
    """The machine of the first attempt, and whether that attempt is a KVM probe."""
    if request not in CHOICES:
        raise UserError(f"unknown accelerator {request!r}: pass --accel one of {', '.join(CHOICES)}")
    if request == "tcg":
        return tcg("requested with --accel tcg"), False
    if request == "kvm":
        return kvm("requested with --accel kvm"), False
    if not os.access(DEV_KVM, os.R_OK | os.W_OK):
        return tcg(f"{DEV_KVM} is missing or not accessible"), False
    failure = remembered_failure()
    if failure:
        return tcg(f"KVM failed earlier in this host boot ({failure}); see {memo_path()}"), False
    return kvm("probe: the guest printed its first console line under KVM"), True
