"""Per-tree build settings (bot/build/settings.py): decided from the tree's code and a real
probe of the host's assembler; trees that need none keep their exact tuxmake command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.build import settings, tuxmake

OLD_ELF_C = """\
static int read_symbols(struct elf *elf)
{
	symtab = find_section_by_name(elf, ".symtab");
	if (!symtab) {
		WARN("missing symbol table");
		return -1;
	}
"""
FIXED_ELF_C = """\
static int read_symbols(struct elf *elf)
{
	symtab = find_section_by_name(elf, ".symtab");
	if (!symtab) {
		/* A missing symbol table is possible for an empty .o file (thunk_64.o). */
		return 0;
	}
"""
KCONFIG_RETPOLINE_SELECTS = """\
config GOLDFISH
       def_bool y

config RETPOLINE
	bool "Avoid speculative indirect branches in kernel"
	default y
	select STACK_VALIDATION if HAVE_STACK_VALIDATION
	help
		Compile kernel with the retpoline compiler options.
"""
KCONFIG_RETPOLINE_PLAIN = """\
config RETPOLINE
	bool "Avoid speculative indirect branches in kernel"
	default y

config X
	select STACK_VALIDATION
"""


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "linux"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "tree"], check=True)
    return repo


def compile_object(tmp_path: Path, source: str, lang: str) -> bytes:
    src = tmp_path / f"probe.{lang}"
    src.write_text(source)
    obj = tmp_path / "probe.o"
    subprocess.run(["gcc", "-c", "-x", {"c": "c", "s": "assembler"}[lang], str(src), "-o",
                    str(obj)], check=True)
    return obj.read_bytes()


def readelf_has_symtab(obj: bytes, tmp_path: Path) -> bool:
    path = tmp_path / "check.o"
    path.write_bytes(obj)
    out = subprocess.run(["readelf", "-S", "-W", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return " SYMTAB " in out


def test_symtab_probe_agrees_with_readelf(tmp_path: Path):
    with_symbol = compile_object(tmp_path, "int cocci_probe;\n", "c")
    empty = compile_object(tmp_path, "", "s")
    assert settings.has_symtab(with_symbol) is True
    for obj in (with_symbol, empty):
        assert settings.has_symtab(obj) == readelf_has_symtab(obj, tmp_path)
    assert settings.assembler_omits_empty_symtab() == (not readelf_has_symtab(empty, tmp_path))
    with pytest.raises(settings.InfraError, match="ELF"):
        settings.has_symtab(b"not an object")


@pytest.mark.parametrize(("elf_c", "kconfig", "expected"), [
    (OLD_ELF_C, KCONFIG_RETPOLINE_SELECTS,
     ("# CONFIG_RETPOLINE is not set", "# CONFIG_STACK_VALIDATION is not set")),
    (OLD_ELF_C, KCONFIG_RETPOLINE_PLAIN, ("# CONFIG_STACK_VALIDATION is not set",)),
    (FIXED_ELF_C, KCONFIG_RETPOLINE_SELECTS, None),
    (None, KCONFIG_RETPOLINE_SELECTS, None),       # no objtool at all
])
def test_decided_from_the_trees_code(tmp_path: Path, monkeypatch, elf_c, kconfig, expected):
    files = {"arch/x86/Kconfig": kconfig}
    if elf_c is not None:
        files["tools/objtool/elf.c"] = elf_c
    repo = tree(tmp_path, files)
    # the host half of the condition, both ways (the real probe is tested above)
    for host_omits in (True, False):
        monkeypatch.setattr(settings, "assembler_omits_empty_symtab", lambda omits=host_omits: omits)
        got = settings.decide(repo, "HEAD")
        if expected is None or not host_omits:
            assert got == []
        else:
            assert [s.config for s in got] == [expected]
            assert "missing symbol table" in got[0].why and "thunk_64.o" in got[0].why
            assert ("RETPOLINE" in got[0].why) == (len(expected) == 2)


def test_fragment_file_and_argv(tmp_path: Path):
    assert settings.write_fragment([], tmp_path / "none.config") is None
    assert not (tmp_path / "none.config").exists()
    s = settings.Setting("objtool-off", ("# CONFIG_STACK_VALIDATION is not set",), "why")
    path = settings.write_fragment([s], tmp_path / "tree-settings.config")
    assert path is not None
    assert path.read_text() == "# objtool-off: why\n# CONFIG_STACK_VALIDATION is not set\n"
    spec = tuxmake.Spec(Path("/w/src"), Path("/w/obj"), Path("/o/base"), Path("/f.config"),
                        tree_fragments=(path,))
    argv = tuxmake.argv(spec, python="/py")
    i = argv.index("--kconfig-add")
    assert argv[i:i + 4] == ["--kconfig-add", "/f.config", "--kconfig-add", str(path)]
