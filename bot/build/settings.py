"""Per-tree build settings: what an older tree needs to build with this host's toolchain,
decided from the tree's own code and a probe of the toolchain, never from a version list.

Each setting is config lines merged after the campaign's fragment (tuxmake --kconfig-add, a
file in OUTDIR) and a reason, both recorded in build.json `tree_settings`. A tree that needs
none builds with exactly the command line it had before.

Today there is one:

- objtool without empty-object support. Binutils 2.40 (Debian 12) writes no symbol table
  into an object assembled from nothing, which is what arch/x86/entry/thunk_64.S becomes in a
  tinyconfig kernel (every thunk is behind PREEMPT/TRACE_IRQFLAGS). objtool before upstream's
  "objtool: Don't fail on missing symbol table" stops there ("missing symbol table") and the
  build fails. When both hold, stack validation is turned off: CONFIG_STACK_VALIDATION off,
  and CONFIG_RETPOLINE off where the tree's RETPOLINE selects it (4.15-5.x: tinyconfig's
  unwinder is the guess unwinder, so retpolines are what turn objtool on). Every symbol is
  checked after olddefconfig like the fragment's (an ORC unwinder would keep it on: an error).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot import git, proc
from bot.errors import InfraError

OBJTOOL_ELF = "tools/objtool/elf.c"
X86_KCONFIG = "arch/x86/Kconfig"
# objtool's read_symbols() giving up on an object without .symtab (fixed upstream by returning 0)
_OBJTOOL_REFUSES = re.compile(r'if \(!symtab\) \{\s*WARN\("missing symbol table"\);\s*return -1;')
# `config RETPOLINE` whose entry (up to the next blank line) selects STACK_VALIDATION
_RETPOLINE_SELECTS = re.compile(r"^config RETPOLINE\n(?:[^\n]+\n)*?\s*select STACK_VALIDATION\b",
                                re.MULTILINE)


@dataclass(frozen=True)
class Setting:
    name: str
    config: tuple[str, ...]     # fragment lines
    why: str

    def to_json(self) -> dict:
        return {"name": self.name, "config": list(self.config), "why": self.why}


OBJTOOL_OFF = "objtool-off"
_OBJTOOL_WHY = ("this tree's objtool stops on objects without a symbol table ('missing symbol "
                "table'; fixed upstream by 'objtool: Don't fail on missing symbol table') and "
                "this host's assembler writes none for an empty object (arch/x86/entry/"
                "thunk_64.o in tinyconfig): stack validation off")


def decide(tree: Path, base: str) -> list[Setting]:
    """The settings the tree at `base` needs with this host's toolchain."""
    settings = []
    if objtool_refuses_empty_objects(tree, base) and assembler_omits_empty_symtab():
        lines = ["# CONFIG_STACK_VALIDATION is not set"]
        why = _OBJTOOL_WHY
        if retpoline_selects_stack_validation(tree, base):
            lines.insert(0, "# CONFIG_RETPOLINE is not set")
            why += " (with CONFIG_RETPOLINE, which selects it in this tree)"
        settings.append(Setting(OBJTOOL_OFF, tuple(lines), why))
    return settings


def objtool_refuses_empty_objects(tree: Path, base: str) -> bool:
    res = git.git(tree, "show", f"{base}:{OBJTOOL_ELF}", check=False)
    return res.ok and bool(_OBJTOOL_REFUSES.search(res.stdout))


def retpoline_selects_stack_validation(tree: Path, base: str) -> bool:
    res = git.git(tree, "show", f"{base}:{X86_KCONFIG}", check=False)
    return res.ok and bool(_RETPOLINE_SELECTS.search(res.stdout))


def assembler_omits_empty_symtab(cc: str = "gcc") -> bool:
    """Assemble nothing with the kernel's compiler driver; True when the object has no .symtab."""
    with tempfile.TemporaryDirectory(prefix="cocci-bot-as-") as tmp:
        obj = Path(tmp) / "empty.o"
        proc.run([cc, "-c", "-x", "assembler", "/dev/null", "-o", str(obj)])
        return not has_symtab(obj.read_bytes())


def has_symtab(elf: bytes) -> bool:
    """Whether a 64-bit little-endian ELF object has a section of type SHT_SYMTAB."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise InfraError("the assembler probe did not produce a 64-bit little-endian ELF object")
    shoff = int.from_bytes(elf[0x28:0x30], "little")
    shentsize = int.from_bytes(elf[0x3A:0x3C], "little")
    shnum = int.from_bytes(elf[0x3C:0x3E], "little")
    sht_symtab = 2
    return any(int.from_bytes(elf[off + 4:off + 8], "little") == sht_symtab
               for off in range(shoff, shoff + shnum * shentsize, shentsize))


def write_fragment(settings: list[Setting], path: Path) -> Path | None:
    """The settings as one config fragment at `path` (None, and no file, when there are none)."""
    if not settings:
        return None
    lines = [f"# {s.name}: {s.why}\n" + "\n".join(s.config) for s in settings]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
