"""The warnings ledger (bot/build/ledger.py): the recorder (a `ccache` first on PATH, running
the real ccache and gcc) keeps each object's diagnostics beside it, also on a ccache hit, drops
them when a recompile is clean, and `collect` gives the warnings of every object present, as a
full build would print them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.build import ledger, tuxmake

WARNS = "int f(void) { int unused; return 0; }\n"
CLEAN = "int f(void) { return 0; }\n"


def run(recorder: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**tuxmake.env(recorder), "LC_ALL": "C",
           "CCACHE_DIR": str(recorder.parent / "ccache")}
    return subprocess.run(["ccache", *argv], cwd=cwd, capture_output=True, text=True, env=env)


def cc(recorder: Path, obj: Path, src: str) -> subprocess.CompletedProcess[str]:
    """Compile like kbuild does: `ccache gcc` from the O= dir, a relative -o, the source by its
    path."""
    return run(recorder, "gcc", "-Wall", "-c", "-o", src + ".o", str(obj.parent / "src" / src),
               cwd=obj)


def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    src, obj = tmp_path / "src", tmp_path / "obj"
    (src / "kvm").mkdir(parents=True)
    (obj / "kvm").mkdir(parents=True)
    return ledger.install(tmp_path / "bin"), src, obj


def test_recorder_keeps_warnings_beside_the_object_and_still_prints_them(tmp_path):
    recorder, src, obj = tree(tmp_path)
    (src / "kvm" / "a.c").write_text(WARNS)
    (src / "kvm" / "b.c").write_text(CLEAN)
    res = cc(recorder, obj, "kvm/a.c")
    assert res.returncode == 0 and "unused variable 'unused'" in res.stderr
    assert cc(recorder, obj, "kvm/b.c").returncode == 0
    assert [t for t, _ in ledger.records(obj)] == ["kvm/a.c.o"]
    found = ledger.collect(obj, (f"{src}/",))
    assert [(w.file, w.flag) for w in found] == [("kvm/a.c", "-Wunused-variable")]
    (obj / "kvm" / ".a.c.o.warnings").unlink()
    (obj / "kvm" / "a.c.o").unlink()
    hit = cc(recorder, obj, "kvm/a.c")                # a ccache hit replays the warning
    stats = run(recorder, "--print-stats", cwd=obj).stdout
    assert "direct_cache_hit\t1" in stats and "unused variable" in hit.stderr
    assert [t for t, _ in ledger.records(obj)] == ["kvm/a.c.o"]


def test_a_clean_recompile_drops_the_record_and_a_failed_one_keeps_its_errors(tmp_path):
    recorder, src, obj = tree(tmp_path)
    (src / "kvm" / "a.c").write_text(WARNS)
    cc(recorder, obj, "kvm/a.c")
    (src / "kvm" / "a.c").write_text(CLEAN)
    cc(recorder, obj, "kvm/a.c")
    assert ledger.records(obj) == []
    (src / "kvm" / "a.c").write_text("this is not C;\n")
    res = cc(recorder, obj, "kvm/a.c")
    assert res.returncode != 0 and "error" in res.stderr     # the exit status goes through


def test_records_of_objects_no_longer_present_are_ignored(tmp_path):
    recorder, src, obj = tree(tmp_path)
    (src / "kvm" / "a.c").write_text(WARNS)
    cc(recorder, obj, "kvm/a.c")
    (obj / "kvm" / "a.c.o").unlink()
    assert ledger.collect(obj) == []


def test_outputs_outside_a_directory_run_the_compiler_unrecorded(tmp_path):
    recorder, src, obj = tree(tmp_path)
    (src / "kvm" / "a.c").write_text(WARNS)
    res = run(recorder, "gcc", "-Wall", "-c", "-o", "/dev/null", str(src / "kvm" / "a.c"),
              cwd=obj)
    assert res.returncode == 0 and "unused variable" in res.stderr
    res = run(recorder, "gcc", "-c", "-o", "nodir/x.o", str(src / "kvm/a.c"), cwd=obj)
    assert res.returncode != 0 and "nodir" in res.stderr      # gcc's own error, not the shell's
    assert ledger.records(obj) == []


def test_install_rewrites_only_a_changed_recorder(tmp_path):
    path = ledger.install(tmp_path) / "ccache"
    mtime = path.stat().st_mtime_ns
    assert (ledger.install(tmp_path) / "ccache").stat().st_mtime_ns == mtime
    path.write_text("#!/bin/sh\nexit 1\n")
    assert "cocci-bot" in (ledger.install(tmp_path) / "ccache").read_text()


def test_the_build_runs_the_recorder_first_on_path():
    env = tuxmake.env(Path("/w/bin"))
    assert env["PATH"].startswith("/w/bin:") and "PATH" not in tuxmake.env()
