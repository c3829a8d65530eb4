"""Proof of "no functional change": the generated code of every step that claims it.

A step claims no functional change when its campaign manifest says so (`nfc = true`, or else
`kind = "cleanup"`, on the [[step]] whose subject is the commit's subject bar its prefixes, or
whose semantic patch apply's git note on the commit names, refs/notes/cocci-bot) or, for a
commit no manifest describes, when its message says "no functional change". For each claiming step the objects it touches are compiled
at its parent and at the step (the build's own O= dir, config, compiler and make variables) and
compared function by function.

Objects a step touches: every object whose kbuild dependency list (.<obj>.cmd, `source_` and
`deps_`) names a file the step changes, so a header change reaches every object including it.
Base and top-of-series objects are copied out of the O= dir right after the base and patched
builds (no extra compile); only states between two steps are compiled again (make O=... file.o).

Normalisation (what may differ without changing what the code does):
- addresses: instruction offsets are dropped; branch and call targets are named by symbol+offset;
- relocations: the target is named, not the place: a symbol with its addend; a section-relative
  target is resolved to the symbol it lands in (`tab+0x8`) or, in a string section, to the string
  itself; PC-relative addends are corrected by the instruction's tail, so layout does not matter;
- WARN/BUG line numbers: __bug_table entries are compared per function as (offset in the
  function, file, flags), without the line;
- section placement: a function is keyed by name wherever it lives; gcc's cold split
  (`f.cold` in .text.unlikely) is compared as part of `f`; numbered function-scope statics
  (`__already_done.12`) are numbered by first use inside the function.
Data objects (STT_OBJECT symbols) are compared by bytes and normalised relocations too.
Not compared: debug info, the ORC/alternatives/exception tables' layout (their targets move with
the code that is compared).
Known limit: read-only data without a symbol (gcc's switch jump tables) is named by its offset
in the section, so a step that moves such data is reported different (a false fail, never a
false pass); __LINE__ used as an immediate outside WARN/BUG (e.g. __might_sleep() with
CONFIG_DEBUG_ATOMIC_SLEEP) is reported too.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from bot import defaults, git, proc

CLAIM = re.compile(r"\bno functional change\b", re.IGNORECASE)
PC_RELATIVE = ("R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_GOTPCREL", "R_X86_64_PC64",
               "R_X86_64_GOTPCRELX", "R_X86_64_REX_GOTPCRELX")
MAX_DIFF_LINES = 40


# --- which steps claim, and what they touch ---------------------------------------------------

@dataclass
class Step:
    commit: str
    parent: str
    subject: str
    claims: bool
    claim_source: str                      # "manifest" | "message" | ""
    files: list[str]
    objects: list[str] = field(default_factory=list)
    targets: dict[str, str] = field(default_factory=dict)    # object -> its make target
    kind: str = ""                         # the manifest's "fix" | "cleanup", "" if it says none


def manifest_claims(manifest: Path | None) -> list[tuple[str, str, bool]]:
    """(subject, semantic patch file name, nfc) of the campaign's steps that say: `nfc`, or
    else the step's `kind` (a "cleanup" claims no functional change, a "fix" does not)."""
    if manifest is None or not manifest.is_file():
        return []
    data = tomllib.loads(manifest.read_text())
    return [(str(s.get("subject", "")), Path(str(s.get("cocci") or "")).name,
             bool(s["nfc"]) if "nfc" in s else s["kind"] == "cleanup")
            for s in data.get("step", []) if isinstance(s, dict) and ("nfc" in s or "kind" in s)]


def manifest_kinds(manifest: Path | None) -> list[tuple[str, str, str]]:
    """(subject, semantic patch file name, kind) of the campaign's steps that say a kind."""
    if manifest is None or not manifest.is_file():
        return []
    data = tomllib.loads(manifest.read_text())
    return [(str(s.get("subject", "")), Path(str(s.get("cocci") or "")).name, str(s["kind"]))
            for s in data.get("step", []) if isinstance(s, dict) and "kind" in s]


def _kind(kinds: list[tuple[str, str, str]], subject: str, body: str) -> str:
    """The manifest's kind of the step this commit is (matched as _claim matches)."""
    return next((kind for step_subject, cocci, kind in kinds
                 if _summary(subject) == _summary(step_subject)
                 or (cocci and f"/{cocci}" in body)), "")


def _claim(claims: list[tuple[str, str, bool]], subject: str, body: str) -> tuple[bool, str]:
    """The manifest's word for the step this commit is (same subject, or the message names the
    step's semantic patch, as apply's git note on the commit does); else the message's own."""
    for step_subject, cocci, nfc in claims:
        if _summary(subject) == _summary(step_subject) or (cocci and f"/{cocci}" in body):
            return nfc, "manifest"
    return (True, "message") if CLAIM.search(body) else (False, "")


def _summary(subject: str) -> str:
    """A subject without its prefixes ("KVM: x86/mmu: Do x" -> "do x"): apply dresses the
    manifest's subject in the tree's own prefix (bot/apply/framing.py)."""
    return re.sub(r"^(?:[A-Za-z][\w/.-]*: )+", "", subject).lower()


def series_steps(tree: Path, base: str, rev: str, manifest: Path | None) -> list[Step]:
    claims, kinds = manifest_claims(manifest), manifest_kinds(manifest)
    log = git.out(tree, "log", "--reverse", "--first-parent", "--notes=cocci-bot",
                  "--format=%H %P%x00%B%n%N%x1e", f"{base}..{rev}")
    steps = []
    for entry in filter(None, (e.strip("\n") for e in log.split("\x1e"))):
        head, body = entry.split("\x00", 1)
        commit, parent = head.split()[:2]
        subject = body.split("\n", 1)[0].strip()
        claimed, source = _claim(claims, subject, body)
        files = git.out(tree, "diff", "--name-only", parent, commit).split()
        steps.append(Step(commit, parent, subject, claimed, source, files,
                          kind=_kind(kinds, subject, body)))
    return steps


def _cmd_files(obj: Path) -> list[Path]:
    return [p for p in obj.rglob(".*.o.cmd") if "/tools/" not in str(p) and
            "/scripts/" not in str(p)]


def objects_touching(obj: Path, src: Path, files: list[str]) -> dict[str, str]:
    """Objects compiled from or including any of `files`: {path under O=: make target}.

    The make target is the one kbuild recorded (`cmd_<target> :=`): 5.10 builds virt/kvm's
    objects from arch/x86/kvm/Makefile as arch/x86/kvm/../../../virt/kvm/kvm_main.o."""
    wanted = {str(src / f) for f in files} | {str(src.resolve() / f) for f in files} | set(files)
    names = {f"/{Path(f).name}" for f in files}
    found = {}
    for cmd in _cmd_files(obj):
        text = cmd.read_text(errors="replace")
        if "\nsource_" not in text or not any(n in text for n in names):   # cheap filter first
            continue
        deps = {os.path.normpath(t) if "/../" in t else t for t in re.split(r"[\s\\]+", text)}
        if not deps & wanted:            # kbuild writes arch/x86/kvm/../../../virt/kvm/x.c
            continue
        first = text.split("\n", 1)[0]
        target = first[4:].split(" := ", 1)[0] if first.startswith("cmd_") else ""
        rel = str(cmd.with_name(cmd.name[1:-4]).relative_to(obj))   # .kvm_main.o.cmd
        found[rel] = target or rel
    return dict(sorted(found.items()))


def snapshot(obj: Path, objects: list[str], dest: Path) -> None:
    for rel in objects:
        if (obj / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(obj / rel, dest / rel)


def make_argv(build_log: Path) -> list[str]:
    """tuxmake's own make command line (from its build.log), without its targets."""
    for line in build_log.read_text(errors="replace").splitlines():
        if line.startswith("make ") and " O=" in line:
            words = shlex.split(line)
            return [words[0], *(w for w in words[1:] if "=" in w or w.startswith("-"))]
    raise ValueError(f"no make command line in {build_log}")


def compile_objects(src: Path, argv: list[str], objects: list[str], log_path: Path,
                    env: dict[str, str]) -> proc.Result:
    return proc.run([*argv, *objects], cwd=src, timeout=defaults.TIMEOUT_BUILD, env=env,
                    check=False, log_path=log_path)


# --- the generated code of one object, normalised ---------------------------------------------

@dataclass
class Symbol:
    name: str
    section: str
    value: int
    size: int
    kind: str          # STT_FUNC / STT_OBJECT ...
    local: bool


@dataclass
class Elf:
    """What the normaliser needs from one object file."""
    sections: dict[str, bytes]
    flags: dict[str, int]
    symbols: list[Symbol]
    by_section: dict[str, list[Symbol]]
    relocs: dict[str, list[tuple[int, str, str, int]]]   # section -> (offset, type, symbol, addend)
    locals: dict[str, Symbol] = field(default_factory=dict)   # local labels without a type

    def symbol_at(self, section: str, offset: int) -> tuple[Symbol, int] | None:
        syms = self.by_section.get(section, [])
        starts = [s.value for s in syms]
        i = bisect.bisect_right(starts, offset) - 1
        while i >= 0:
            s = syms[i]
            if s.value <= offset < s.value + max(s.size, 1):
                return s, offset - s.value
            i -= 1
        return None


def load_elf(path: Path) -> Elf:
    with path.open("rb") as fh:
        elf = ELFFile(fh)
        names = [s.name for s in elf.iter_sections()]
        sections = {s.name: (b"" if s["sh_type"] == "SHT_NOBITS" else s.data())
                    for s in elf.iter_sections() if s["sh_flags"] & 2}     # SHF_ALLOC
        flags = {s.name: s["sh_flags"] for s in elf.iter_sections()}
        symtab = elf.get_section_by_name(".symtab")
        symbols: list[Symbol] = []
        raw_syms = list(symtab.iter_symbols()) if isinstance(symtab, SymbolTableSection) else []
        for sym in raw_syms:
            shndx = sym["st_shndx"]
            if not isinstance(shndx, int) or not sym.name:
                continue
            kind = sym["st_info"]["type"]
            if kind in ("STT_SECTION", "STT_FILE"):
                continue
            symbols.append(Symbol(sym.name, names[shndx], sym["st_value"], sym["st_size"], kind,
                                  sym["st_info"]["bind"] == "STB_LOCAL"))
        relocs: dict[str, list[tuple[int, str, str, int]]] = {}
        for sec in elf.iter_sections():
            if not isinstance(sec, RelocationSection) or not sec.is_RELA():
                continue
            target = names[sec["sh_info"]]
            rsym = elf.get_section(sec["sh_link"])
            assert isinstance(rsym, SymbolTableSection)
            rows = []
            for rel in sec.iter_relocations():
                rs = rsym.get_symbol(rel["r_info_sym"])
                name = (rs.name if rs["st_info"]["type"] != "STT_SECTION"
                        else names[rs["st_shndx"]])
                rows.append((rel["r_offset"], _reloc_type(rel["r_info_type"]), name,
                             rel["r_addend"]))
            relocs[target] = sorted(rows)
    by_section: dict[str, list[Symbol]] = {}
    labels = {s.name: s for s in symbols if s.local and s.kind == "STT_NOTYPE"}
    typed = [s for s in symbols if s.kind != "STT_NOTYPE"]
    by_section = {}
    for s in sorted(typed, key=lambda s: (s.section, s.value, -s.size)):
        by_section.setdefault(s.section, []).append(s)
    return Elf(sections, flags, symbols, by_section, relocs, labels)


_RELOC_NAMES = {1: "R_X86_64_64", 2: "R_X86_64_PC32", 4: "R_X86_64_PLT32", 9: "R_X86_64_GOTPCREL",
                10: "R_X86_64_32", 11: "R_X86_64_32S", 24: "R_X86_64_PC64",
                41: "R_X86_64_GOTPCRELX", 42: "R_X86_64_REX_GOTPCRELX"}


def _reloc_type(n: int) -> str:
    return _RELOC_NAMES.get(n, f"R_X86_64_{n}")


def describe_target(elf: Elf, name: str, addend: int) -> str:
    """A relocation target independent of layout: sym+off, or the string it points at."""
    local = elf.locals.get(name)
    if local is not None and name not in elf.sections:   # .LC0 and friends: assembler labels
        name, addend = local.section, local.value + addend
    if name not in elf.sections or addend < 0:
        return f"{name}{addend:+#x}" if addend else name
    if name.startswith(".rodata.str") or ".str" in name:
        data = elf.sections[name]
        end = data.find(b"\0", addend)
        text = data[addend:end if end >= 0 else None].decode("utf-8", "replace")
        return repr(text)
    hit = elf.symbol_at(name, addend)
    if hit:
        sym, off = hit
        return f"{sym.name}+{off:#x}" if off else sym.name
    return f"{name}{addend:+#x}"


# --- functions as normalised instruction lists ------------------------------------------------

INSN = re.compile(r"^\s*([0-9a-f]+):\t(.*)$")
LABEL = re.compile(r"^([0-9a-f]+) <(.+)>:$")
SECTION = re.compile(r"^Disassembly of section (\S+):$")
RELOC = re.compile(r"\t([0-9a-f]+): (R_\w+)\t(\S+)")
ADDR_SYM = re.compile(r"\b[0-9a-f]+ <([^>]+)>")
COMMENT = re.compile(r"\s*#.*$")
NUMBERED = re.compile(r"^(.+)\.(\d+)$")


@dataclass
class Function:
    name: str
    section: str
    lines: list[str] = field(default_factory=list)


def disassemble(path: Path) -> list[tuple[str, str, int, str, list[tuple[int, str, str]]]]:
    """(section, label, offset, instruction text, relocations) for every instruction."""
    res = proc.run(["objdump", "-d", "-r", "-w", "--no-show-raw-insn", str(path)],
                   timeout=defaults.TIMEOUT_GIT)
    rows = []
    section, label = "", ""
    for line in res.stdout.splitlines():
        if m := SECTION.match(line):
            section, label = m.group(1), m.group(1)
        elif m := LABEL.match(line):
            label = m.group(2)
        elif m := INSN.match(line):
            text = m.group(2)
            relocs = [(int(o, 16), t, s) for o, t, s in RELOC.findall(text)]
            text = RELOC.sub("", text).strip()
            rows.append((section, label, int(m.group(1), 16), text, relocs))
    return rows


def _split_target(sym: str) -> tuple[str, int]:
    m = re.match(r"^(.*?)([+-]0x[0-9a-f]+)?$", sym)
    assert m
    return m.group(1), int(m.group(2), 16) if m.group(2) else 0


def functions(path: Path) -> dict[str, Function]:
    elf = load_elf(path)
    rows = disassemble(path)
    funcs: dict[str, Function] = {}
    for i, (section, label, _off, text, relocs) in enumerate(rows):
        same = i + 1 < len(rows) and rows[i + 1][0] == section
        end = rows[i + 1][2] if same else len(elf.sections.get(section, b""))
        key = label[:-5] if label.endswith(".cold") else label
        fn = funcs.setdefault(key, Function(key, section))
        if label.endswith(".cold") and not any(x.startswith("<cold") for x in fn.lines):
            fn.lines.append(f"<cold part in {section}>")
        fn.lines.append(_normalise(elf, text, relocs, end))
    for fn in funcs.values():
        fn.lines = _renumber(_strip_padding(fn.lines))
    _add_bug_entries(elf, funcs)
    return funcs


def _normalise(elf: Elf, text: str, relocs: list[tuple[int, str, str]], end: int) -> str:
    if not relocs:
        return " ".join(COMMENT.sub("", ADDR_SYM.sub(r"<\1>", text)).split())
    text = COMMENT.sub("", text)
    parts = []
    for off, rtype, target in relocs:
        name, addend = _split_target(target)
        if rtype in PC_RELATIVE:
            addend += end - off
            where = describe_target(elf, name, addend)
            parts.append(f"[{rtype} {where} pc]")
        else:
            parts.append(f"[{rtype} {describe_target(elf, name, addend)}]")
    text = ADDR_SYM.sub("<reloc>", text)
    return " ".join(text.split()) + " " + " ".join(parts)


PADDING = re.compile(r"^(nop\w*|xchg %ax,%ax|data16 .*|cs nopw .*|int3|\.\.\.)( .*)?$")


def _strip_padding(lines: list[str]) -> list[str]:
    """Alignment padding after a function's last instruction is layout, not code."""
    end = len(lines)
    while end > 1 and PADDING.match(lines[end - 1]):
        end -= 1
    return lines[:end]


def _renumber(lines: list[str]) -> list[str]:
    """`__already_done.12` -> `__already_done.#1`: gcc numbers function-scope statics per file."""
    seen: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        base = m.group(1)
        if m.group(0) not in seen:
            seen[m.group(0)] = f"{base}.#{sum(1 for k in seen if k.startswith(base + '.')) + 1}"
        return seen[m.group(0)]

    pattern = re.compile(r"\b([A-Za-z_][\w]*)\.(\d+)\b")
    return [pattern.sub(sub, line) for line in lines]


def _add_bug_entries(elf: Elf, funcs: dict[str, Function]) -> None:
    """WARN/BUG sites per function: (offset in function, file, flags), the line left out."""
    data = elf.sections.get("__bug_table")
    relocs = elf.relocs.get("__bug_table", [])
    if not data or not relocs:
        return
    at = {off: (name, addend) for off, _t, name, addend in relocs}
    verbose = 0 in at and 4 in at     # CONFIG_DEBUG_BUGVERBOSE: file and line follow the address
    size = 12 if verbose else 8
    for entry in range(0, len(data), size):
        if entry not in at:
            continue
        sec, addend = at[entry]
        hit = elf.symbol_at(sec, addend)
        fname = hit[0].name if hit else sec
        where = f"{hit[1]:#x}" if hit else f"{addend:#x}"
        if verbose:
            fsec, faddend = at.get(entry + 4, ("?", 0))
            file = describe_target(elf, fsec, faddend - 4)   # `file - entry`, at entry+4
            flags = int.from_bytes(data[entry + 10:entry + 12], "little")
        else:
            file, flags = "", int.from_bytes(data[entry + 4:entry + 6], "little")
        key = fname[:-5] if fname.endswith(".cold") else fname
        if key in funcs:
            funcs[key].lines.append(f"<bug entry at +{where} {file} flags={flags:#x}>")


def data_objects(path: Path) -> dict[str, list[str]]:
    """Initialised data symbols (STT_OBJECT): bytes in hex and normalised relocations."""
    elf = load_elf(path)
    out: dict[str, list[str]] = {}
    for sym in elf.symbols:
        if sym.kind != "STT_OBJECT" or sym.section not in elf.sections:
            continue
        raw = elf.sections[sym.section][sym.value:sym.value + sym.size]
        rel = [f"+{o - sym.value:#x} [{t} {describe_target(elf, n, a)}]"
               for o, t, n, a in elf.relocs.get(sym.section, [])
               if sym.value <= o < sym.value + sym.size]
        name = NUMBERED.sub(r"\1", sym.name) if sym.local else sym.name
        out.setdefault(name, []).extend([f"size {sym.size}", raw.hex(), *rel])
    return out


# --- comparing two objects --------------------------------------------------------------------

def compare_object(before: Path | None, after: Path | None, obj: str) -> list[dict[str, Any]]:
    """One row per function and data object: identical / different / added / removed."""
    if before is None or after is None:
        state = "added" if before is None else "removed"
        return [{"object": obj, "function": "(whole object)", "kind": "object",
                 "status": state, "diff": []}]
    if before.read_bytes() == after.read_bytes():      # the same object: nothing to normalise
        return [{"object": obj, "function": name, "kind": kind, "status": "identical",
                 "diff": []} for name, kind in _names(before)]
    rows = _compare(functions(before), functions(after), obj, "function",
                    lambda f: f.lines, lambda f: f.section)
    rows += _compare(data_objects(before), data_objects(after), obj, "data", lambda d: d,
                     lambda d: "")
    return rows


def _names(path: Path) -> list[tuple[str, str]]:
    elf = load_elf(path)
    funcs = {s.name[:-5] if s.name.endswith(".cold") else s.name for s in elf.symbols
             if s.kind == "STT_FUNC"}
    data = {NUMBERED.sub(r"\1", s.name) if s.local else s.name for s in elf.symbols
            if s.kind == "STT_OBJECT" and s.section in elf.sections}
    return [(n, "function") for n in sorted(funcs)] + [(n, "data") for n in sorted(data)]


def _compare(old: dict, new: dict, obj: str, kind: str, lines, section) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(old.keys() | new.keys()):
        row: dict[str, Any] = {"object": obj, "function": name, "kind": kind, "diff": []}
        if name not in new:
            row["status"] = "removed"
        elif name not in old:
            row["status"] = "added"
            row["diff"] = [f"+ {x}" for x in lines(new[name])][:MAX_DIFF_LINES]
        else:
            a, b = lines(old[name]), lines(new[name])
            row["status"] = "identical" if a == b else "different"
            if a != b:
                row["diff"] = list(difflib.unified_diff(a, b, lineterm="", n=1))[2:][:MAX_DIFF_LINES]
            if section(old[name]) != section(new[name]):
                row["moved"] = f"{section(old[name])} -> {section(new[name])}"
        rows.append(row)
    return rows


def step_verdict(step: Step, rows: list[dict[str, Any]], not_compiled: list[str]) -> dict[str, Any]:
    changed = [r for r in rows if r["status"] != "identical"]
    rec: dict[str, Any] = {
        "commit": step.commit, "subject": step.subject, "claims": step.claims,
        "claim_source": step.claim_source, "files": step.files, "objects": step.objects,
        "not_compiled": not_compiled, "functions": rows,
    }
    if not step.claims:
        rec["verdict"], rec["reason"] = "not-claimed", "the commit does not claim no functional change"
    elif changed:
        names = ", ".join(f"{r['function']} ({r['status']}, {r['object']})" for r in changed)
        rec["verdict"], rec["reason"] = "fail", f"generated code changed: {names}"
    else:
        rec["verdict"] = "pass"
        rec["reason"] = (f"{sum(r['kind'] == 'function' for r in rows)} function(s) in "
                         f"{len(step.objects)} object(s) identical")
    return rec


def table(nfc: dict[str, Any]) -> str:
    """The per-function table as the check's log: what differs first, with its instructions,
    then per object the functions and data found identical."""
    out = []
    for step in nfc.get("steps", []):
        out.append(f"{step['commit'][:12]} {step['subject']}")
        out.append(f"  claims no functional change: {step['claims']} ({step['claim_source'] or '-'})"
                   f"; verdict: {step['verdict']}: {step['reason']}")
        out.extend(f"  not compiled by this config: {f}" for f in step.get("not_compiled", []))
        same: dict[str, list[str]] = {}
        for row in step["functions"]:
            if row["status"] == "identical" and not row.get("moved"):
                same.setdefault(row["object"], []).append(row["function"])
                continue
            moved = f" [{row['moved']}]" if row.get("moved") else ""
            out.append(f"  {row['status']:<9} {row['object']}: {row['function']}{moved}")
            out.extend(f"      {d}" for d in row["diff"])
        for obj, names in same.items():
            out.append(f"  identical {obj}: {len(names)}: {', '.join(names)}")
        out.append("")
    return "\n".join(out)


# --- the proof over a series, driven by the build stage ---------------------------------------

class Proof:
    """States: the base, each step, the top. State k keeps the objects step k and step k+1
    need (only for steps that claim). Base and top come from the builds themselves."""

    def __init__(self, tree: Path, base: str, rev: str, out: Path, manifest: Path | None):
        self.out = out
        self.steps = series_steps(tree, base, rev, manifest)
        self.states = [base, *(s.commit for s in self.steps)]
        self.not_compiled: dict[str, list[str]] = {}
        self.broken: dict[int, str] = {}          # state -> why its objects are not there

    @property
    def claimed(self) -> list[Step]:
        return [s for s in self.steps if s.claims]

    def state_dir(self, k: int) -> Path:
        return self.out / f"{k:02d}-{self.states[k][:12]}"

    def needed(self, k: int) -> list[str]:
        """The objects state k is compiled for: those of the step that made it and of the next
        (every step's, claiming or not: compiling each state is also the bisect check)."""
        objs: set[str] = set()
        if k >= 1:
            objs |= set(self.steps[k - 1].objects)
        if k < len(self.steps):
            objs |= set(self.steps[k].objects)
        return sorted(objs)

    def after_base(self, src: Path, obj: Path) -> None:
        """The base O= dir is complete: find each step's objects, keep the base's."""
        for step in self.steps:
            step.targets = objects_touching(obj, src, step.files)
            step.objects = list(step.targets)
            compiled = {o.rsplit(".", 1)[0] for o in step.objects}
            self.not_compiled[step.commit] = [
                f for f in step.files if f.endswith((".c", ".S")) and f.rsplit(".", 1)[0]
                not in compiled]
        snapshot(obj, self.needed(0), self.state_dir(0))

    def after_patched(self, obj: Path) -> None:
        snapshot(obj, self.needed(len(self.steps)), self.state_dir(len(self.steps)))

    def middle_states(self) -> list[int]:
        return [k for k in range(1, len(self.steps)) if self.needed(k)]

    def compile_state(self, k: int, src: Path, obj: Path, argv: list[str],
                      env: dict[str, str]) -> proc.Result:
        targets = {o: t for s in self.steps for o, t in s.targets.items()}
        log = self.out / f"make-{k:02d}.log"
        res = compile_objects(src, argv, [targets[o] for o in self.needed(k)], log, env)
        if res.returncode != 0:
            self.broken[k] = f"the objects do not compile at {self.states[k][:12]} (see {log})"
        snapshot(obj, self.needed(k), self.state_dir(k))
        return res

    def bisect(self) -> dict[str, Any]:
        """Whether every prefix of the series compiles (0-day's bisectability), from the states
        compiled between steps (the top is the patched build): per patch, and the first patch
        after which the objects the series touches do not compile."""
        rows = []
        for k, step in enumerate(self.steps, start=1):
            why = self.broken.get(k) if k < len(self.steps) else None
            checked = k == len(self.steps) or bool(self.needed(k))
            rows.append({"patch": k, "commit": step.commit, "subject": step.subject,
                         "compiles": why is None, "checked": checked,
                         "reason": why or ("its objects compile" if checked else
                                           "it touches no object this config compiles")})
        first = next((r for r in rows if not r["compiles"]), None)
        return {"status": "fail" if first else "pass", "first_broken": first, "patches": rows}

    def compare(self) -> dict[str, Any]:
        records = []
        for k, step in enumerate(self.steps, start=1):
            rows: list[dict[str, Any]] = []
            if step.claims:
                for o in step.objects:
                    before, after = self.state_dir(k - 1) / o, self.state_dir(k) / o
                    rows += compare_object(before if before.is_file() else None,
                                           after if after.is_file() else None, o)
            rec = step_verdict(step, rows, self.not_compiled.get(step.commit, []))
            broken = [self.broken[i] for i in (k - 1, k) if i in self.broken]
            if step.claims and broken:
                rec["verdict"], rec["reason"] = "fail", "; ".join(broken)
            records.append(rec)
        verdicts = [r["verdict"] for r in records]
        status = "fail" if "fail" in verdicts else "pass" if "pass" in verdicts else "not-claimed"
        return {"status": status, "steps": records}
