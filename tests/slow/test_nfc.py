"""The proof of "no functional change" on real trees, both ways: the campaign's steps on 5.10
compile to the same code; a commit that claims no functional change but alters a condition fails
and names the function. Builds share test_build_boot's work dir (ccache, one checkout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kernel_trees import TAG, commit_change

from bot import cli, defaults
from bot.post import outdir

pytestmark = pytest.mark.slow

HEADER = "include/linux/kvm_host.h"
KVM_MAIN = "virt/kvm/kvm_main.c"
MMU = "arch/x86/kvm/mmu/mmu.c"
SOB = "\n\nSigned-off-by: Test <test@example.org>\n"
# the campaign's step 1 as a maintainer would write it: an inline helper next to the predicate,
# call sites asking the new question (the logical negation): no functional change
INLINE_HELPER = {
    HEADER: ("bool kvm_is_reserved_pfn(kvm_pfn_t pfn);\n",
             "bool kvm_is_reserved_pfn(kvm_pfn_t pfn);\n\n"
             "static inline bool kvm_is_refcounted_pfn(kvm_pfn_t pfn)\n{\n"
             "\treturn !kvm_is_reserved_pfn(pfn);\n}\n\n"),
    KVM_MAIN: ("\tif (kvm_is_reserved_pfn(pfn))\n\t\treturn 1;\n",
               "\tif (!kvm_is_refcounted_pfn(pfn))\n\t\treturn 1;\n"),
    MMU: ("\tif (is_error_noslot_pfn(pfn) || kvm_is_reserved_pfn(pfn))",
          "\tif (is_error_noslot_pfn(pfn) || !kvm_is_refcounted_pfn(pfn))"),
}
# claims no functional change, but && became ||: kvm_release_pfn_clean() now drops references
# it never took
ALTERED = {
    KVM_MAIN: ("\tif (!is_error_noslot_pfn(pfn) && !kvm_is_reserved_pfn(pfn))\n\t\tput_page",
               "\tif (!is_error_noslot_pfn(pfn) || !kvm_is_reserved_pfn(pfn))\n\t\tput_page"),
}


@pytest.fixture(scope="session")
def work_dir() -> Path:
    return defaults.cache_dir() / "test-build-work"


def build(tree: Path, rev: str, base: str, out: Path, work_dir: Path) -> dict:
    rc = cli.main(["build", "--tree", str(tree), "--rev", rev, "--base", base, "--out", str(out),
                   "--work-dir", str(work_dir), "--data-dir", str(out / "data")])
    rec = json.loads((out / "build.json").read_text())
    assert rc == 0, rec["reason"]
    return rec


def verdicts(rec: dict) -> list[tuple[str, bool, str]]:
    return [(s["subject"], s["claims"], s["verdict"]) for s in rec["nfc"]["steps"]]


def test_nfc_both_ways_on_5_10_223(kernel_repo, work_dir, tmp_path):
    good = commit_change(kernel_repo, "test/nfc-inline-helper", INLINE_HELPER,
                         "kvm: add kvm_is_refcounted_pfn()\n\nNo functional change." + SOB)
    bad = commit_change(kernel_repo, "test/nfc-altered", ALTERED,
                        "kvm: tidy kvm_release_pfn_clean()\n\nNo functional change." + SOB,
                        base=good)
    rec = build(kernel_repo, bad, TAG, tmp_path / "build", work_dir)
    first, second = rec["nfc"]["steps"]
    assert rec["nfc"]["status"] == "fail"
    # step 1: every object including kvm_host.h, compiled at the base and at the step
    assert first["verdict"] == "pass", first["reason"]
    assert first["claims"] and first["claim_source"] == "message"
    assert {"virt/kvm/kvm_main.o", "arch/x86/kvm/mmu/mmu.o", "arch/x86/kvm/x86.o"} <= \
        set(first["objects"])
    rows = {(r["object"], r["function"]): r["status"] for r in first["functions"]}
    # kvm_try_get_pfn() is inlined into its caller
    assert rows[("virt/kvm/kvm_main.o", "__gfn_to_pfn_memslot")] == "identical"
    assert rows[("arch/x86/kvm/mmu/mmu.o", "kvm_mmu_hugepage_adjust")] == "identical"
    assert "kvm_is_refcounted_pfn" not in {f for _o, f in rows}      # inline: no code of its own
    # step 2: the altered condition is named, with the instructions that differ
    assert second["verdict"] == "fail"
    changed = [r for r in second["functions"] if r["status"] != "identical"]
    assert "kvm_release_pfn_clean" in [r["function"] for r in changed]   # (and callers it is inlined in)
    assert {r["object"] for r in changed} == {"virt/kvm/kvm_main.o"}
    assert "kvm_release_pfn_clean (different, virt/kvm/kvm_main.o)" in second["reason"]
    assert any(d.startswith(("-", "+")) for d in changed[0]["diff"])
    # posted as the series check `nfc`, the table as its log
    (check,) = [c for c in outdir.checks(tmp_path, {}) if c["context"] == "nfc"]
    assert check["state"] == "fail" and "kvm_release_pfn_clean" in check["log"]


def test_campaign_steps_pass_on_5_10_46(kernel_repo, work_dir, tmp_path):
    """The real series (two steps on 5.10.46, each claiming no functional change)."""
    run = tmp_path / "run"
    assert cli.main(["apply", "--tree", str(kernel_repo), "--rev", "v5.10.46", "--campaign",
                     "kvm-refcounted-pfn", "--out", str(run),
                     "--data-dir", str(tmp_path / "data")]) == 0
    report = json.loads((run / "report.json").read_text())
    rec = build(kernel_repo, report["head"], "v5.10.46", run / "build", work_dir)
    steps = rec["nfc"]["steps"]
    assert len(steps) == 2 and all(s["claims"] for s in steps)
    for step in steps:
        assert step["verdict"] == "pass", step["reason"]
        assert step["objects"] and step["not_compiled"] == []
    assert rec["nfc"]["status"] == "pass"
