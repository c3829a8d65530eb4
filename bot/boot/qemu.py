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


def boot_argv(machine: Machine, kernel: Path, initrd: Path, console: Path, verdict: Path,
              *, append: Sequence[str] = (), memory_mb: int = defaults.BOOT_MEMORY_MB,
              qemu: str | None = None) -> list[str]:
    """The QEMU command line of one boot: no devices but two serial ports, no reboot."""
    return [
        qemu or defaults.QEMU, "-accel", machine.accel, "-cpu", machine.cpu, "-m", str(memory_mb), "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", kernel_cmdline(append),
        "-chardev", f"file,id=console,path={console}", "-serial", "chardev:console",
        "-chardev", f"file,id=verdict,path={verdict}", "-serial", "chardev:verdict",
    ]
