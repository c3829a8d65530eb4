"""Pure argv builders for QEMU (tested by list equality).

Channels: the first serial port (ttyS0) is the kernel console, written to a file; the second
(ttyS1) is the guest's verdict channel, written to another file. Only the guest's init writes
to ttyS1, so a kernel message can never fake a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import defaults


@dataclass(frozen=True)
class Machine:
    """What a boot runs on: accelerator and CPU model, and why they were chosen."""

    accel: str           # "kvm" or "tcg"
    cpu: str
    reason: str


def kernel_cmdline(extra: Sequence[str] = ()) -> str:
    return " ".join((*defaults.BOOT_CMDLINE, *extra))


def accel_argv(machine: Machine) -> list[str]:
    """-accel, and under TCG an instruction-counted clock (defaults.BOOT_TCG_ICOUNT).

    Without -icount, TCG's guest clocks (PIT, TSC) follow the host's wall clock, so a vCPU
    thread the host deschedules during the guest kernel's TSC calibration sees the PIT and the
    TSC disagree; the kernel then runs with tsc_khz = 0 ("Marking TSC unstable due to could not
    calculate TSC khz"), and its KVM never enters a guest: kvm_guest_time_update() finds no TSC
    frequency, re-requests KVM_REQ_CLOCK_UPDATE and vcpu_run() loops until a signal comes.  With
    -icount both clocks advance with executed instructions, so calibration cannot race the host
    scheduler; sleep=off lets idle guest time pass without waiting for it.
    """
    argv = ["-accel", machine.accel]
    if machine.accel == "tcg":
        argv += ["-icount", defaults.BOOT_TCG_ICOUNT]
    return argv


def boot_argv(machine: Machine, kernel: Path, initrd: Path, console: Path, verdict: Path,
              *, append: Sequence[str] = (), memory_mb: int = defaults.BOOT_MEMORY_MB,
              qemu: str | None = None) -> list[str]:
    """The QEMU command line of one boot: no devices but two serial ports, no reboot."""
    return [
        qemu or defaults.QEMU, *accel_argv(machine), "-cpu", machine.cpu, "-m", str(memory_mb),
        "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", kernel_cmdline(append),
        "-chardev", f"file,id=console,path={console}", "-serial", "chardev:console",
        "-chardev", f"file,id=verdict,path={verdict}", "-serial", "chardev:verdict",
    ]
