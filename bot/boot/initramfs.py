"""The boot stage's initramfs: Debian's static busybox, the bot's init script and the static
guest programs (kvm-smoke, kvm-dax), compiled here at run time with `gcc -static`.

Layout in the guest: /init (guest/init.sh), /bin/busybox (+ applet links made by init),
/bin/kvm-smoke (guest/kvm-smoke.c), /bin/kvm-dax (guest/kvm-dax.c), /dev/console, and empty
/proc /sys /dev /tmp.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot import defaults, proc
from bot.boot import cpio
from bot.errors import InfraError

GUEST_DIR = Path(__file__).resolve().parent / "guest"
GUEST_PROGRAMS = ("kvm-smoke", "kvm-dax")
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


def init_script(smoke: bool, guest_cmd: str = "", dax: bool = False) -> bytes:
    text = (GUEST_DIR / "init.sh").read_text()
    for key, on in (("@SMOKE@", smoke), ("@DAX@", dax)):
        text = text.replace(key, "yes" if on else "no")
    return text.replace("@GUEST_CMD@", guest_cmd).encode()


def entries(busybox: bytes, programs: dict[str, bytes], init: bytes) -> list[cpio.Entry]:
    return [
        *(cpio.directory(d) for d in ("bin", "dev", "proc", "sys", "tmp")),
        cpio.chardev("dev/console", 5, 1),
        cpio.file("bin/busybox", busybox),
        cpio.symlink("bin/sh", "busybox"),
        *(cpio.file(f"bin/{name}", binary) for name, binary in programs.items()),
        cpio.file("init", init),
    ]


def build(out: Path, workdir: Path, smoke: bool = True, guest_cmd: str = "",
          dax: bool = False) -> Path:
    """Write the initramfs to `out` (atomically) and return its path."""
    workdir.mkdir(parents=True, exist_ok=True)
    busybox = find_busybox().read_bytes()
    programs = {name: compile_guest(name, workdir) for name in GUEST_PROGRAMS}
    data = cpio.archive(entries(busybox, programs, init_script(smoke, guest_cmd, dax)))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
