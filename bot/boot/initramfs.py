"""The boot stage's initramfs: Debian's static busybox, the bot's init script and the static
guest programs (kvm-smoke), compiled here at run time with `gcc -static`.

Layout in the guest: /init (guest/init.sh), /bin/busybox (+ applet links made by init),
/bin/kvm-smoke (guest/kvm-smoke.c), /dev/console, and empty /proc /sys /dev /tmp.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot import defaults, proc
from bot.boot import cpio
from bot.errors import InfraError

GUEST_DIR = Path(__file__).resolve().parent / "guest"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def compile_argv(source: Path, output: Path, cc: str = "gcc") -> list[str]:
    """gcc argv for one static guest program."""
    return [cc, "-static", "-O2", "-Wall", "-o", str(output), str(source)]


def compile_guest(name: str, workdir: Path) -> bytes:
    """Compile guest/<name>.c statically and return the binary."""
    output = workdir / name
    res = proc.run(compile_argv(GUEST_DIR / f"{name}.c", output),
                   timeout=defaults.TIMEOUT_GUEST_CC, check=False)
    if not res.ok:
        raise InfraError(f"could not compile the guest program {name}.c with gcc -static: "
                         f"{res.tail()} (install gcc and libc6-dev: run deploy/setup.sh)")
    return output.read_bytes()


def find_busybox() -> Path:
    for candidate in (proc.which("busybox"), *BUSYBOX_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise InfraError("busybox not found: " + proc.INSTALL_HINTS["busybox"])


def init_script(smoke: bool, guest_cmd: str = "") -> bytes:
    text = (GUEST_DIR / "init.sh").read_text()
    text = text.replace("@SMOKE@", "yes" if smoke else "no").replace("@GUEST_CMD@", guest_cmd)
    return text.encode()


def entries(busybox: bytes, smoke_binary: bytes, init: bytes) -> list[cpio.Entry]:
    return [
        *(cpio.directory(d) for d in ("bin", "dev", "proc", "sys", "tmp")),
        cpio.chardev("dev/console", 5, 1),
        cpio.file("bin/busybox", busybox),
        cpio.symlink("bin/sh", "busybox"),
        cpio.file("bin/kvm-smoke", smoke_binary),
        cpio.file("init", init),
    ]


def build(out: Path, workdir: Path, smoke: bool = True, guest_cmd: str = "") -> Path:
    """Write the initramfs to `out` (atomically) and return its path."""
    workdir.mkdir(parents=True, exist_ok=True)
    busybox = find_busybox().read_bytes()
    smoke_binary = compile_guest("kvm-smoke", workdir)
    data = cpio.archive(entries(busybox, smoke_binary, init_script(smoke, guest_cmd)))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
