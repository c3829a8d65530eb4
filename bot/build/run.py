"""`cocci-bot build`: build the base and the patched kernel, compare warnings, check coverage.

OUTDIR/build.json (written when the build starts, replaced atomically after each step):

    schema          bot.status.SCHEMA
    status          "RUNNING" while running, then "PASS" | "FAIL" (bot.status.Status)
    reason          one line: why that status
    kernel          path of the patched bzImage (null unless it was built)
    base_kernel     path of the base bzImage (booted when the patched kernel fails a check)
    fix_first       null, or for a fix-first series (its first step's manifest kind is "fix",
                    two patches or more): patch 1 alone built between the base and the
                    patched build (OUTDIR/fix-first/): commit, subject, status, kernel (the
                    boot stage boots it with the DAX check)
    tree, base, rev the tree and the two commits (40-hex)
    fragment        the config fragment merged on top of tinyconfig
    config_hash     sha256 of the patched build's final .config
    toolchain       the compiler's version line
    durations       seconds: checkout, base, patched, total
    ccache          {"base": {"hits", "misses"}, "patched": {...}}
    incremental     whether the base build continued in the O= dir a previous build left
    retries         builds done again (a base that failed in a kept O= dir, from an empty one)
    builds          per build: status, seconds, warnings (count, of the whole kernel: the
                    ledger), warnings_printed (in this build's log), output_dir, log
    new_warnings    warnings of the patched build the base build did not have (by file,
                    message and -W flag; line shifts do not count): file, line, message, flag, text
    coverage        per .c file the series adds or modifies: file, object, built (bool)
    not_compiled    the touched .c files this config does not compile (reported, not hidden)
    fragment_mismatches  fragment symbols that did not stick ("CONFIG_X=y (got CONFIG_X=n)")
    tree_settings   what this tree needs with this host's toolchain, decided from its code
                    (bot/build/settings.py): name, config lines (OUTDIR/tree-settings.config,
                    merged after the fragment), why; [] for trees that need nothing
    reproducer      the cocci-bot command line; tuxmake_reproducers: per build
    bisect          null (no proof run), or whether every prefix of the series compiles: status
                    pass | fail, first_broken, patches: [{patch, commit, subject, compiles,
                    checked, reason}] (the states the NFC proof compiles, for every step; a
                    prefix that does not compile fails the build, naming the patch)
    nfc             null, or the proof of "no functional change" (bot/build/nfc.py): status
                    pass | fail | not-claimed, and per step: commit, subject, claims,
                    claim_source, verdict (pass | fail | not-claimed), reason, objects,
                    not_compiled, functions: [{object, function, kind, status, diff}]

Layout: OUTDIR/base/ and OUTDIR/patched/ are the two builds' separate output dirs (tuxmake's:
build.log, config, bzImage, metadata.json, reproducer.sh). The source checkout (src/) and the
O= dir (obj/) live in the work dir (default DATA_DIR/build-work) at stable paths, so compiler
command lines, hence ccache keys, are the same from run to run. The O= dir is kept from run to
run: the base build continues from whatever the last build of this tree left (the previous
release's patched kernel), so make recompiles only what changed between the two; the patched
build then continues in the same O= dir after the checkout moves to REV, so make rebuilds only
what the series changed. (A copy of the O= dir at another path would not do: tools/objtool
records absolute paths, gets rebuilt, and every object that objtool post-processes follows.)
A base build that fails in a kept O= dir is done again from an empty one before the tree is
called broken.

New warnings stay exact although the base build prints only what it recompiled: every compile
keeps its diagnostics beside its object (bot/build/ledger.py), and the base's and the patched
build's warnings are the records of every object present after each, i.e. what two builds
from an empty O= dir would have printed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError

from bot import defaults, git, jsonfile, locking, proc
from bot import progress as live
from bot.build import fragment as frag
from bot.build import ledger, nfc, tuxmake, warnings
from bot.build import settings as tree_settings
from bot.build import tree as srctree
from bot.errors import EXIT_FAILED, EXIT_OK, InfraError, UserError
from bot.log import progress
from bot.status import SCHEMA, Status


@dataclass
class Options:
    tree: Path
    rev: str
    out: Path
    work_dir: Path
    fragment: Path
    base: str | None = None
    jobs: int = defaults.BUILD_JOBS
    manifest: Path | None = None     # the campaign's manifest: which steps claim NFC
    nfc: bool = True                 # prove the steps' "no functional change" claims


@dataclass
class Paths:
    src: Path
    obj: Path

    @classmethod
    def under(cls, root: Path) -> Paths:
        return cls(root / "src", root / "obj")


class Build:
    """One `cocci-bot build` run: its options, paths and the build.json record."""

    def __init__(self, opts: Options, base: str, rev: str):
        self.opts, self.base, self.rev = opts, base, rev
        self.paths = Paths.under(srctree.work_root(opts.work_dir, opts.tree))
        self.started = time.monotonic()
        self.wanted = frag.load(opts.fragment)
        self.settings = tree_settings.decide(opts.tree, base)
        extra = tree_settings.write_fragment(self.settings, opts.out / "tree-settings.config")
        self.tree_fragments = (extra.resolve(),) if extra else ()
        for setting in self.settings:
            self.wanted |= frag.parse("\n".join(setting.config))
        self.record: dict[str, Any] = initial_record(opts, base, rev)
        self.proof: nfc.Proof | None = None
        self.recorder = ledger.install(self.paths.src.parent / "bin")
        self.warnings: dict[str, list[warnings.Warning]] = {}   # per build, from the ledger
        self.record["tree_settings"] = [s.to_json() for s in self.settings]
        for setting in self.settings:
            progress("build", f"tree setting {setting.name}: {setting.why}")

    def save(self) -> None:
        jsonfile.write(self.opts.out / "build.json", self.record)

    def spec(self, which: str, targets: tuple[str, ...] = tuxmake.BUILD_TARGETS) -> tuxmake.Spec:
        return tuxmake.Spec(self.paths.src, self.paths.obj, self.opts.out / which,
                            self.opts.fragment.resolve(), targets, self.opts.jobs,
                            tree_fragments=self.tree_fragments, recorder=self.recorder)

    def finish(self, status: str, reason: str) -> dict[str, Any]:
        self.record["status"], self.record["reason"] = status, reason
        self.record["durations"]["total"] = round(time.monotonic() - self.started, 1)
        self.save()
        return self.record


def initial_record(opts: Options, base: str, rev: str) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "status": Status.RUNNING, "reason": "running", "kernel": None,
        "base_kernel": None, "fix_first": None, "incremental": False, "retries": 0,
        "tree": str(opts.tree), "base": base, "rev": rev,
        "fragment": str(opts.fragment.resolve()), "config_hash": None, "toolchain": None,
        "durations": {}, "ccache": {}, "builds": {}, "new_warnings": [], "coverage": [],
        "not_compiled": [], "fragment_mismatches": [], "nfc": None, "bisect": None,
        "reproducer": proc.cmdline(["cocci-bot", "build", "--tree", str(opts.tree), "--rev", rev,
                                    "--base", base, "--fragment", str(opts.fragment.resolve()),
                                    "--out", str(opts.out)]),
        "tuxmake_reproducers": {},
    }


def check_fragment(b: Build) -> None:
    """Generate the base config only, and fail naming every fragment symbol that did not stick."""
    progress("build", f"config: {b.opts.fragment.name} on {defaults.BUILD_BASE_CONFIG}")
    spec = b.spec("base", ("config",))
    tuxmake.run(spec, b.opts.out / "tuxmake-config.log")
    config = spec.output_dir / "config"
    if not config.is_file():
        raise UserError(f"could not generate the kernel config (see {spec.output_dir}/build.log)")
    bad = frag.mismatches(b.wanted, frag.parse(config.read_text()))
    if bad:
        b.record["fragment_mismatches"] = [str(m) for m in bad]
        b.finish("FAIL", "fragment symbols did not stick: " + ", ".join(map(str, bad)))
        raise UserError(f"config fragment symbols did not stick after olddefconfig: "
                        f"{', '.join(map(str, bad))}: fix {b.opts.fragment} (add the symbols "
                        "they depend on, see `make menuconfig` help)")


def run_build(b: Build, which: str, commit: str | None = None) -> bool:
    spec = b.spec(which)
    commit = commit or (b.base if which == "base" else b.rev)
    progress("build", f"{which}: building {commit[:12]} in {spec.build_dir}")
    history = b.paths.src.parent / HISTORY
    counter = ObjectCounter(spec.output_dir / ledger.COMPILED, which, last_build(history, which))
    with live.ticking("build", counter, state_file=b.opts.out / live.FILE):
        res = tuxmake.run(spec, b.opts.out / f"tuxmake-{which}.log")
    remember_build(history, which, counter.count(), res.seconds)
    meta = tuxmake.metadata(spec.output_dir)
    status = tuxmake.status(meta, tuxmake.BUILD_TARGETS[-1])
    if status == "PASS" and not tuxmake.copy_image(spec):
        status = "FAIL"
    b.warnings[which] = ledger.collect(b.paths.obj, src_prefixes(b))
    b.record["builds"][which] = {
        "status": status, "seconds": round(res.seconds, 1),
        "warnings": len(b.warnings[which]),       # of the whole kernel (the ledger)
        "warnings_printed": meta.get("results", {}).get("warnings"),   # by what was compiled
        "output_dir": str(spec.output_dir), "log": str(spec.output_dir / "build.log"),
    }
    b.record["durations"][which] = round(res.seconds, 1)
    b.record["ccache"][which] = {"hits": meta.get("ccache", {}).get("cache_hits"),
                                 "misses": meta.get("ccache", {}).get("cache_misses")}
    b.record["toolchain"] = meta.get("compiler", {}).get("version_full") or b.record["toolchain"]
    b.record["tuxmake_reproducers"][which] = proc.cmdline(
        meta.get("build", {}).get("reproducer_cmdline", []))
    b.save()
    progress("build", f"{which}: {status} in {res.seconds:.0f} s")
    return status == "PASS"


FIX = "fix-first"               # the build (and output dir) of patch 1 alone
HISTORY = "last-build.json"     # per tree, in its work dir: what each build last compiled


def last_build(history: Path, which: str) -> dict[str, float]:
    try:
        return dict(json.loads(history.read_text()).get(which, {}))
    except (OSError, ValueError, AttributeError):
        return {}


def remember_build(history: Path, which: str, objects: int, seconds: float) -> None:
    try:
        data = json.loads(history.read_text())
    except (OSError, ValueError):
        data = {}
    data[which] = {"objects": objects, "seconds": round(seconds, 1)}
    jsonfile.write(history, data)


class ObjectCounter:
    """Where a build stands, from the recorder's growing list of objects compiled (ledger.py):
    how many, of about how many (the last build of this tree), elapsed, about how long is
    left."""

    def __init__(self, log: Path, which: str, last: dict[str, float]):
        self.log, self.which, self.last = log, which, last
        self.offset = self.done = 0
        self.started = time.monotonic()

    def count(self) -> int:
        try:
            with self.log.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return self.done
        cut = chunk.rfind(b"\n") + 1          # whole lines only
        self.done += chunk.count(b"\n", 0, cut)
        self.offset += cut
        return self.done

    def __call__(self) -> str:
        done, spent = self.count(), time.monotonic() - self.started
        line = f"{self.which}: {done} objects compiled"
        total, seconds = self.last.get("objects"), self.last.get("seconds")
        if total:
            line += f" (last build of this tree: {int(total)})"
        line += f", {live.elapsed(spent)}"
        if seconds and seconds > spent:
            line += f", about {live.elapsed(seconds - spent)} left"
        return line


def src_prefixes(b: Build) -> tuple[str, ...]:
    return (f"{b.paths.src}/", f"{b.paths.src.resolve()}/")


def compare_warnings(b: Build) -> list[warnings.Warning]:
    """The patched kernel's warnings beyond the base's, both of the whole kernel (the ledger)."""
    return warnings.new_warnings(b.warnings.get("base", []), b.warnings.get("patched", []))


def coverage(b: Build) -> list[dict[str, Any]]:
    rows = []
    for file in srctree.touched_c_files(b.opts.tree, b.base, b.rev):
        obj = file[:-2] + ".o"
        rows.append({"file": file, "object": obj, "built": (b.paths.obj / obj).is_file()})
    return rows


def config_hash(config: Path) -> str | None:
    return hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None


def build_base(b: Build) -> bool:
    t0 = time.monotonic()
    srctree.checkout(b.opts.tree, b.paths.src, b.base)
    b.record["durations"]["checkout"] = round(time.monotonic() - t0, 1)
    b.record["incremental"] = (b.paths.obj / ".config").is_file()
    check_fragment(b)
    ok = run_build(b, "base")
    if not ok and b.record["incremental"]:
        progress("build", "base: failed in the kept O= dir; building it again from an empty one")
        shutil.rmtree(b.paths.obj)
        b.record["incremental"] = False
        b.record["retries"] += 1
        check_fragment(b)
        ok = run_build(b, "base")
    if ok:
        b.record["base_kernel"] = str((b.opts.out / "base" / "bzImage").resolve())
    if ok and b.opts.nfc:
        b.proof = nfc.Proof(b.opts.tree, b.base, b.rev, b.opts.out / "nfc", b.opts.manifest)
        b.proof.after_base(b.paths.src, b.paths.obj)
    return ok


def build_patched(b: Build) -> bool:
    srctree.checkout(b.opts.tree, b.paths.src, b.rev)
    ok = run_build(b, "patched")
    patched_dir = b.opts.out / "patched"
    b.record["config_hash"] = config_hash(patched_dir / "config")
    if ok:
        b.record["kernel"] = str((patched_dir / "bzImage").resolve())
        if b.proof:
            b.proof.after_patched(b.paths.obj)
    return ok


def prove_nfc(b: Build) -> None:
    """Compile the states between steps (base and top are the builds'), compare, record."""
    if b.proof is None:
        return
    t0 = time.monotonic()
    try:
        _prove(b)
    except (InfraError, OSError, ValueError, ELFError) as exc:   # the proof, not the build
        b.record["nfc"] = {"status": "error", "reason": f"the proof could not run: {exc}",
                           "steps": []}
    b.record["durations"]["nfc"] = round(time.monotonic() - t0, 1)
    progress("build", f"nfc: {b.record['nfc']['status']} in {b.record['durations']['nfc']:.0f} s")


def _prove(b: Build) -> None:
    assert b.proof is not None
    middle = b.proof.middle_states()
    if middle:
        argv = nfc.make_argv(b.opts.out / "patched" / "build.log")
        env = {**tuxmake.env(b.recorder), "KCFLAGS": ""}
        for k in middle:
            progress("build", f"nfc: compiling {len(b.proof.needed(k))} object(s) at "
                     f"{b.proof.states[k][:12]}")
            srctree.checkout(b.opts.tree, b.paths.src, b.proof.states[k])
            b.proof.compile_state(k, b.paths.src, b.paths.obj, argv, env)
        srctree.checkout(b.opts.tree, b.paths.src, b.rev)
    b.record["nfc"] = b.proof.compare()


def first_fix(b: Build) -> nfc.Step | None:
    """Patch 1 of a fix-first series (its manifest step has kind "fix") of two or more patches
    (a series of one is the fix alone: the patched build is it)."""
    steps = b.proof.steps if b.proof else nfc.series_steps(b.opts.tree, b.base, b.rev,
                                                           b.opts.manifest)
    return steps[0] if len(steps) > 1 and steps[0].kind == "fix" else None


def build_fix_first(b: Build, fix: nfc.Step) -> bool:
    """Patch 1 alone, built in the same O= dir (between the base and the patched build: make
    recompiles what the fix changed, then the patched build what the rest changed); its
    bzImage is what the boot stage boots with the DAX check (build.json fix_first)."""
    srctree.checkout(b.opts.tree, b.paths.src, fix.commit)
    ok = run_build(b, FIX, fix.commit)
    b.record["fix_first"] = {
        "commit": fix.commit, "subject": fix.subject, "status": b.record["builds"][FIX]["status"],
        "kernel": str((b.opts.out / FIX / "bzImage").resolve()) if ok else None}
    b.save()
    return ok


def verdict(b: Build) -> dict[str, Any]:
    if not build_base(b):
        return b.finish("FAIL", "the base build failed: the tree does not build with this "
                        f"config (see {b.record['builds']['base']['log']})")
    fix = first_fix(b)
    if fix is not None and not build_fix_first(b, fix):
        return b.finish("FAIL", f"patch 1 alone ({fix.subject}), the fix of a fix-first "
                        f"series, does not build (see {b.record['builds'][FIX]['log']})")
    patched_ok = build_patched(b)
    new = compare_warnings(b)
    b.record["new_warnings"] = [
        {"file": w.file, "line": w.line, "message": w.message, "flag": w.flag, "text": w.text}
        for w in new]
    b.record["coverage"] = coverage(b)
    b.record["not_compiled"] = [r["file"] for r in b.record["coverage"] if not r["built"]]
    if not patched_ok:
        return b.finish("FAIL", "the patched build failed (see "
                        f"{b.record['builds']['patched']['log']})")
    prove_nfc(b)
    if b.proof is not None and b.record["nfc"]["status"] != "error":
        b.record["bisect"] = b.proof.bisect()
        first = b.record["bisect"]["first_broken"]
        if first:
            return b.finish("FAIL", f"the series is not bisectable: after patch {first['patch']}"
                            f"/{len(b.proof.steps)} ({first['subject']}) {first['reason']}")
    return b.finish("PASS", f"{len(new)} new warning(s)")


def resolve(opts: Options) -> tuple[str, str]:
    tree = git.toplevel(opts.tree)
    rev = git.resolve(tree, opts.rev)
    base = git.resolve(tree, opts.base) if opts.base else srctree.default_base(tree, rev)
    if base == rev:
        raise UserError(f"--base and --rev are the same commit {rev[:12]}: pass the series' "
                        "top commit as --rev")
    return base, rev


def work_lock(root: Path) -> locking.FileLock:
    """One build at a time per work dir (they share the checkout and the O= dir)."""
    return locking.FileLock(root / ".lock", busy=UserError(
        f"another cocci-bot build is using {root}: wait for it or pass --work-dir DIR"))


def require_tuxmake() -> None:
    if importlib.util.find_spec("tuxmake") is None:
        raise InfraError("tuxmake not found: " + proc.INSTALL_HINTS["tuxmake"])


def build(opts: Options) -> dict[str, Any]:
    opts.tree = opts.tree.resolve()
    base, rev = resolve(opts)
    require_tuxmake()
    b = Build(opts, base, rev)
    with work_lock(b.paths.src.parent):
        opts.out.mkdir(parents=True, exist_ok=True)
        b.save()
        return verdict(b)


def summary(rec: dict[str, Any]) -> str:
    d = rec["durations"]
    parts = [f"build: {rec['status']}"]
    parts += [f"{k} {d[k]:.0f}s" for k in ("base", "patched") if k in d]
    parts.append(f"{len(rec['new_warnings'])} new warnings")
    if rec["not_compiled"]:
        parts.append(f"not compiled: {', '.join(rec['not_compiled'])}")
    line = ", ".join(parts)
    return line if rec["status"] == "PASS" else f"{line}: {rec['reason']}"


def exit_code(rec: dict[str, Any]) -> int:
    return EXIT_OK if rec["status"] == "PASS" else EXIT_FAILED
