"""`cocci-bot boot --kernel BZIMAGE --out OUTDIR`: boot-test a kernel (see bot/boot/run.py)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot import defaults


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("boot", parents=[common], help="boot-test a kernel under QEMU",
                       description="Boot a kernel under QEMU (KVM if proven to work, else TCG) "
                       "with the bot's initramfs, run the in-guest KVM smoke test, scan the "
                       "console; write OUTDIR/boot.json. Exit 0 pass, 1 fail, 3 infra-error.")
    p.add_argument("--kernel", type=Path, required=True, help="the bzImage to boot")
    p.add_argument("--out", type=Path, required=True, help="output directory (boot.json, logs)")
    p.add_argument("--accel", default="auto", help="auto (KVM if a probe proves it works, "
                   "else TCG), kvm or tcg (default: auto)")
    p.add_argument("--timeout", type=float, default=defaults.TIMEOUT_BOOT,
                   help=f"one global deadline in seconds (default: {defaults.TIMEOUT_BOOT})")
    p.add_argument("--append", action="append", default=[], metavar="ARG",
                   help="extra kernel command-line argument (repeatable)")
    p.add_argument("--skip-kvm-smoke", action="store_true",
                   help="do not run the in-guest KVM smoke program (kvm_smoke: skipped)")
    p.add_argument("--dax", action=argparse.BooleanOptionalAction, default=True,
                   help="run the in-guest DAX check: emulated pmem (memmap=), a KVM guest on "
                   "device DAX, then the device disabled, which must go away (default: on; "
                   "--no-dax: boot.json dax is skipped)")
    p.add_argument("--base-kernel", type=Path, metavar="BZIMAGE",
                   help="the base kernel (build.json base_kernel): when the kernel fails a "
                   "check, this one is booted the same way to say whether the series caused "
                   "it (boot.json attribution; a failure the base has too exits 0)")
    p.add_argument("--fix-kernel", type=Path, metavar="BZIMAGE",
                   help="patch 1 alone of a fix-first series (build.json fix_first.kernel): "
                   "booted too, with the DAX check; it must pass on its own (boot.json "
                   "fix_first)")
    p.add_argument("--guest-cmd", default="", metavar="SHELL",
                   help="extra shell command the guest's init runs before its verdict "
                   "(debugging aid)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.boot import run as boot_run
    from bot.sigterm import sigterm_as_interrupt

    opts = boot_run.Options(kernel=args.kernel, out=args.out, accel=args.accel,
                            deadline=args.timeout, append=tuple(args.append),
                            smoke=not args.skip_kvm_smoke, guest_cmd=args.guest_cmd,
                            dax=args.dax, base_kernel=args.base_kernel,
                            history=args.data_dir, fix_kernel=args.fix_kernel)
    with sigterm_as_interrupt():
        record = boot_run.boot(opts)
    logging.getLogger("bot.boot").info("%s", boot_run.summary(record))
    return boot_run.exit_code(record)
