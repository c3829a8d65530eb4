"""The real thing, the next release cheaper: the O= dir is kept from build to build, so a base
build recompiles only what changed, and "new warnings only" stays exact (bot/build/ledger.py);
and attribution with real kernels: a WARN the base has too does not block the series, one only
the series brings does (bot/boot/attribution.py).

The builds share the work dir of tests/slow/test_build_boot.py, so after it they are small.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kernel_trees import TAG, commit_change
from test_build_boot import BROKEN, HARMLESS, KVM_MAIN, NEW_WARNING, SOB, WARN_IN_KVM

from bot import cli, defaults

pytestmark = pytest.mark.slow

# a second harmless change in init/main.c, the file whose base has the warning
MAIN_COMMENT = {"init/main.c": ("static int kernel_init(void *);\n",
                                "static int kernel_init(void *);  /* cocci-bot test */\n")}
KVM_ONLY = {KVM_MAIN: HARMLESS[KVM_MAIN]}


@pytest.fixture(scope="module")
def work_dir() -> Path:
    return defaults.cache_dir() / "test-build-work"


def build(tree: Path, base: str, rev: str, out: Path, work_dir: Path) -> tuple[int, dict]:
    rc = cli.main(["build", "--tree", str(tree), "--rev", rev, "--base", base, "--out", str(out),
                   "--work-dir", str(work_dir), "--data-dir", str(out / "data")])
    return rc, json.loads((out / "build.json").read_text())


def test_a_base_warning_the_base_build_did_not_print_is_not_new(kernel_repo, work_dir,
                                                                  tmp_path):
    """Base B has a warning in init/main.c. Build 1 (B -> S1, S1 touches kvm_main.c) leaves
    init/main.o compiled at B. Build 2 (B -> S2, S2 touches init/main.c): its base build does
    not recompile init/main.o (nothing changed there), so its log lacks the warning; the
    patched build recompiles it and prints it. Not new: the ledger kept it."""
    base = commit_change(kernel_repo, "test/new-warning", NEW_WARNING,
                         "init: add an unused variable" + SOB)
    s1 = commit_change(kernel_repo, "test/incr-kvm", KVM_ONLY, "kvm: harmless" + SOB, base=base)
    s2 = commit_change(kernel_repo, "test/incr-main", MAIN_COMMENT, "init: comment" + SOB,
                       base=base)
    rc, first = build(kernel_repo, base, s1, tmp_path / "b1", work_dir)
    assert rc == 0 and first["new_warnings"] == [], first["reason"]
    rc, rec = build(kernel_repo, base, s2, tmp_path / "b2", work_dir)
    assert rc == 0 and rec["incremental"] is True, rec["reason"]
    base_log = Path(rec["builds"]["base"]["log"]).read_text()
    patched_log = Path(rec["builds"]["patched"]["log"]).read_text()
    assert "cocci_bot_unused" not in base_log          # the case that matters
    assert "cocci_bot_unused" in patched_log
    assert rec["new_warnings"] == []
    assert rec["builds"]["base"]["warnings"] >= 1       # the whole kernel's, from the ledger
    compiled = (Path(rec["builds"]["base"]["output_dir"]) / "compiled.list").read_text()
    assert "init/main.o" not in compiled and "virt/kvm/kvm_main.o" in compiled


def test_attribution_with_real_kernels(kernel_repo, work_dir, tmp_path):
    """A WARN on KVM_CREATE_VM only in the series: caused by it. The same WARN in the base
    and a harmless series on top: fails on base too."""
    warn = commit_change(kernel_repo, "test/warn-on-create-vm", WARN_IN_KVM,
                         "kvm: warn when a VM is created" + SOB)
    rc, by_series = build(kernel_repo, TAG, warn, tmp_path / "series", work_dir)
    assert rc == 0, by_series["reason"]
    rc, rec = boot(by_series, tmp_path / "series-boot")
    assert rc == 1 and (rec["verdict"], rec["status"]) == ("fail", "FAIL"), rec["reason"]
    assert rec["attribution"]["checks"]["oops"]["cause"] == "series"
    assert "passes on base, fails patched: caused by the series" in rec["reason"]

    on_top = commit_change(kernel_repo, "test/harmless-on-warn", {
        "init/main.c": MAIN_COMMENT["init/main.c"]}, "init: comment" + SOB, base=warn)
    rc, by_base = build(kernel_repo, warn, on_top, tmp_path / "base", work_dir)
    assert rc == 0, by_base["reason"]
    rc, rec = boot(by_base, tmp_path / "base-boot")
    assert rc == 0 and (rec["verdict"], rec["status"]) == ("fail", "PASS"), rec["reason"]
    assert rec["attribution"]["checks"]["oops"]["cause"] == "base"
    assert "fails on base too: not caused by the series" in rec["reason"]
    assert json.loads((tmp_path / "base-boot" / "base" / "boot.json").read_text())[
        "first_bad_line"].startswith("WARNING:")


def boot(build_rec: dict, out: Path) -> tuple[int, dict]:
    rc = cli.main(["boot", "--kernel", build_rec["kernel"], "--base-kernel",
                   build_rec["base_kernel"], "--out", str(out), "--no-dax",
                   "--data-dir", str(out / "data")])
    return rc, json.loads((out / "boot.json").read_text())


def test_a_prefix_that_does_not_compile_is_reported_with_its_patch(kernel_repo, work_dir,
                                                                     tmp_path):
    """Patch 1 breaks kvm_main.c, patch 2 repairs it: the top builds, the series is not
    bisectable, and the build says which patch broke it."""
    broken = commit_change(kernel_repo, "test/bisect-1", BROKEN, "kvm: break the build" + SOB)
    old, new = BROKEN[KVM_MAIN]
    repaired = commit_change(kernel_repo, "test/bisect-2", {KVM_MAIN: (new, old)},
                             "kvm: repair the build" + SOB, base=broken)
    rc, rec = build(kernel_repo, TAG, repaired, tmp_path / "b", work_dir)
    assert rc == 1 and rec["status"] == "FAIL"
    assert rec["builds"]["patched"]["status"] == "PASS"
    first = rec["bisect"]["first_broken"]
    assert (first["patch"], first["commit"], first["subject"]) == \
        (1, broken, "kvm: break the build")
    assert "not bisectable: after patch 1/2 (kvm: break the build)" in rec["reason"]
    assert [p["compiles"] for p in rec["bisect"]["patches"]] == [False, True]
