"""Can this host's KVM run a guest, and fast enough? One VM, one page of real-mode code.

Run as `python -m bot.boot.kvmprobe`: prints "running" before the first KVM_RUN, then one JSON
line {"works": bool, "reason": str, "exit_us": float} and exits 0 (works) or 1. A KVM_RUN that
never returns (an outer hypervisor that never runs the guest) prints no verdict; the caller
(bot/boot/accel.py) holds the deadline and kills it.

The page sits where an x86 CPU starts after reset (CS base 0xffff0000, IP 0xfff0, linear
0xfffffff0), so the vCPU needs no register set-up. Its code writes to an I/O port
PROBE_EXITS times and halts: every write is a round trip to this process, the price of every
device access a booting kernel makes. A nested KVM can run a halting guest yet charge ~66 us a
round trip (measured on the development host, where a kernel boot then sat >15 s in the
firmware without a console line); above defaults.KVM_PROBE_MAX_EXIT_US TCG is the faster choice.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import mmap
import os
import struct
import sys
import time
from dataclasses import asdict, dataclass

from bot import defaults

KVMIO = 0xAE
KVM_API_VERSION = 12
KVM_EXIT_IO = 2
KVM_EXIT_HLT = 5
RESET_PAGE = 0xFFFFF000           # guest-physical page holding the reset vector
RESET_OFFSET = 0xFF0              # the reset vector's offset in that page
PROBE_EXITS = 2000
# mov cx, PROBE_EXITS; again: out dx, al; loop again; hlt   (fits in the 16 bytes to 0xfffff)
GUEST_CODE = b"\xb9" + PROBE_EXITS.to_bytes(2, "little") + b"\xee\xe2\xfd\xf4"
RUNNING = "running"
MEMORY_REGION = struct.Struct("=IIQQQ")   # struct kvm_userspace_memory_region
EXIT_REASON = struct.Struct("=I")         # kvm_run.exit_reason, at offset 8


def _io(nr: int) -> int:
    return (KVMIO << 8) | nr


def _iow(nr: int, size: int) -> int:
    return (1 << 30) | (size << 16) | (KVMIO << 8) | nr


KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, MEMORY_REGION.size)
KVM_RUN = _io(0x80)


def memory_region(slot: int, guest_phys: int, size: int, userspace: int) -> bytes:
    return MEMORY_REGION.pack(slot, 0, guest_phys, size, userspace)


@dataclass(frozen=True)
class Verdict:
    works: bool
    reason: str
    exit_us: float = 0.0          # mean cost of one guest exit to this process, microseconds


def run_until_hlt(vcpu: int, run: mmap.mmap) -> tuple[int, float]:
    """KVM_RUN until the guest halts: (exits to this process, mean microseconds each)."""
    exits, t0 = 0, time.perf_counter()
    while True:
        fcntl.ioctl(vcpu, KVM_RUN, 0)
        exits += 1
        (reason,) = EXIT_REASON.unpack_from(run, 8)
        if reason != KVM_EXIT_IO or exits > PROBE_EXITS + 1:
            break
    mean = (time.perf_counter() - t0) / exits * 1e6
    if reason != KVM_EXIT_HLT:
        raise ValueError(f"the guest exited with reason {reason}, expected HLT")
    return exits, mean


def verdict_of(exits: int, exit_us: float) -> Verdict:
    limit = defaults.KVM_PROBE_MAX_EXIT_US
    if exits != PROBE_EXITS + 1:
        return Verdict(False, f"the guest made {exits - 1} port writes, expected {PROBE_EXITS}")
    if exit_us > limit:
        return Verdict(False, f"a guest exit costs {exit_us:.0f} us (limit {limit:g} us: "
                       "nested virtualisation? TCG boots faster)", round(exit_us, 1))
    return Verdict(True, f"a halting guest ran; {exit_us:.1f} us a guest exit", round(exit_us, 1))


def run_probe_guest(device: str = "/dev/kvm", announce: bool = False) -> Verdict:
    """Create the VM, run it until its HLT, tear it down, and judge what it cost."""
    fds: list[int] = []
    try:
        kvm = os.open(device, os.O_RDWR | os.O_CLOEXEC)
        fds.append(kvm)
        if (version := fcntl.ioctl(kvm, KVM_GET_API_VERSION)) != KVM_API_VERSION:
            return Verdict(False, f"KVM API version {version}, expected {KVM_API_VERSION}")
        vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
        fds.append(vm)
        with mmap.mmap(-1, mmap.PAGESIZE) as page:
            page[RESET_OFFSET:RESET_OFFSET + len(GUEST_CODE)] = GUEST_CODE
            address = ctypes.addressof(ctypes.c_char.from_buffer(page))
            fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION,
                        memory_region(0, RESET_PAGE, mmap.PAGESIZE, address))
            vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
            fds.append(vcpu)
            size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE)
            with mmap.mmap(vcpu, size) as run:
                if announce:
                    _say(RUNNING)
                exits, exit_us = run_until_hlt(vcpu, run)
        return verdict_of(exits, exit_us)
    except OSError as exc:
        return Verdict(False, f"{exc.strerror or exc} ({device})")
    except ValueError as exc:
        return Verdict(False, str(exc))
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.boot.kvmprobe [DEVICE]`: run the probe on DEVICE (default /dev/kvm)."""
    args = sys.argv[1:] if argv is None else argv
    verdict = run_probe_guest(args[0] if args else "/dev/kvm", announce=True)
    _say(json.dumps(asdict(verdict)))
    return 0 if verdict.works else 1


if __name__ == "__main__":
    sys.exit(main())
