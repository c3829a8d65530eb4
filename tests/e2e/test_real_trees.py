"""The campaign on real Debian kernel trees (from `cocci-bot mirror`): early 5.10, late 5.10, 6.1.

5.10.46 still guards SetPageDirty/mark_page_accessed with kvm_is_reserved_pfn();
5.10.223 already has kvm_is_ad_tracked_pfn() and a kvm_try_get_pfn() with an
early return; 6.1 no longer has kvm_is_reserved_pfn() at all.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot import cli, proc

pytestmark = pytest.mark.slow
CAMPAIGN = "kvm-refcounted-pfn"
FRAGMENT = Path(__file__).resolve().parents[2] / "semantic_patches" / CAMPAIGN / "kernel.config"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, timeout=600).stdout.strip()


@pytest.fixture(scope="session")
def applied(debian_mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """apply on each release once per session: tag -> (out dir, report)."""
    results: dict[str, tuple[Path, dict]] = {}

    def run(tag: str) -> tuple[Path, dict]:
        if tag not in results:
            out = tmp_path_factory.mktemp(f"apply-{tag}")
            rc = cli.main(["apply", "--tree", str(debian_mirror), "--campaign", CAMPAIGN,
                           "--rev", tag, "--out", str(out / "run"),
                           "--data-dir", str(out / "data")])
            assert rc == 0
            results[tag] = (out / "run", json.loads((out / "run" / "report.json").read_text()))
        return results[tag]

    return run


@pytest.fixture
def pristine(debian_mirror: Path, tmp_path: Path):
    """A fresh checkout of a release, removed afterwards."""
    made: list[Path] = []

    def checkout(tag: str) -> Path:
        wt = tmp_path / f"linux-{tag}"
        git(debian_mirror, "worktree", "add", "--detach", "--quiet", str(wt), tag)
        made.append(wt)
        return wt

    yield checkout
    for wt in made:
        git(debian_mirror, "worktree", "remove", "--force", str(wt))


def classes(doc: dict) -> dict[str, str]:
    return {f"{s['function']}@{s['file']}": s["class"] for s in doc["sites"]}


def test_early_5_10_splits_both_questions(applied):
    _out, doc = applied("v5.10.46")
    assert doc["status"] == "PASS" and doc["idempotent"]
    commits = [s["commit"] for s in doc["steps"]]
    assert commits[0] and commits[1] and commits[2] is None
    assert "already returns false for every" in doc["steps"][2]["skipped"]
    got = classes(doc)
    assert got["kvm_set_pfn_dirty@virt/kvm/kvm_main.c"] == "dirty-accessed"
    assert got["kvm_set_pfn_accessed@virt/kvm/kvm_main.c"] == "dirty-accessed"
    assert got["kvm_release_pfn_clean@virt/kvm/kvm_main.c"] == "refcount"
    assert got["kvm_mmu_hugepage_adjust@arch/x86/kvm/mmu/mmu.c"] == "hugepage"
    assert "unknown" not in got.values()
    users = [s for s in doc["sites"] if s["class"] not in ("definition", "declaration")]
    assert users and all(s["outcome"] == "transformed" for s in users)
    assert set(doc["steps"][0]["files"]) == {"arch/x86/kvm/mmu/mmu.c", "arch/x86/kvm/mmu/tdp_mmu.c",
                                             "include/linux/kvm_host.h", "virt/kvm/kvm_main.c"}


def test_late_5_10_leaves_ad_tracked_alone(applied):
    _out, doc = applied("v5.10.223")
    assert doc["status"] == "PASS" and doc["idempotent"]
    assert doc["steps"][0]["commit"] and doc["steps"][1]["commit"] is None
    got = classes(doc)
    assert got["kvm_try_get_pfn@virt/kvm/kvm_main.c"] == "refcount"   # the early-return shape
    assert got["kvm_pfn_to_page@virt/kvm/kvm_main.c"] == "refcount"
    assert "dirty-accessed" not in got.values() and "unknown" not in got.values()


def test_6_1_has_nothing_to_do(applied):
    out, doc = applied("v6.1.176")
    assert doc["nothing_to_do"] and doc["sites"] == [] and doc["status"] == "PASS"
    assert not (out / "series").exists() or not list((out / "series").glob("*.patch"))


@pytest.mark.parametrize("tag", ["v5.10.46", "v5.10.223"])
def test_series_applies_to_pristine_base_and_leaves_no_converted_use(applied, pristine, tag,
                                                                     tmp_path):
    out, doc = applied(tag)
    tree = pristine(tag)
    patches = sorted(str(p) for p in (out / "series").glob("*.patch") if not p.name.startswith("0000"))
    git(tree, "am", "-q", "--committer-date-is-author-date", *patches)
    assert git(tree, "rev-parse", "HEAD^{tree}") == git(tree, "rev-parse",
                                                         f"{doc['head']}^{{tree}}")
    again = tmp_path / "again"
    assert cli.main(["apply", "--tree", str(tree), "--campaign", CAMPAIGN, "--out", str(again),
                     "--data-dir", str(tmp_path / "data")]) == 0
    redo = json.loads((again / "report.json").read_text())
    assert all(s["commit"] is None for s in redo["steps"])
    assert {s["class"] for s in redo["sites"]} <= {"definition", "declaration"}


def test_touched_objects_compile_early_5_10(applied, pristine, tmp_path):
    """`make` of every object the series touches, on a tinyconfig + KVM configuration."""
    out, doc = applied("v5.10.46")
    tree = pristine("v5.10.46")
    patches = sorted(str(p) for p in (out / "series").glob("*.patch") if not p.name.startswith("0000"))
    git(tree, "am", "-q", *patches)
    build = tmp_path / "o"
    make = ["make", "-C", str(tree), f"O={build}", "-j2", "-s"]
    proc.run([*make, "tinyconfig"], timeout=600)
    proc.run([str(tree / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(build),
              str(build / ".config"), str(FRAGMENT)], cwd=tree, timeout=300)
    proc.run([*make, "olddefconfig"], timeout=600)
    objects = ["arch/x86/kvm/mmu/mmu.o", "arch/x86/kvm/mmu/tdp_mmu.o",
               "arch/x86/kvm/../../../virt/kvm/kvm_main.o"]
    # 5.10.46's host tools (objtool's libsubcmd) predate gcc 12's -Wuse-after-free and build
    # with -Werror; that is the toolchain's quarrel with the old tree, not the series'.
    res = proc.run([*make, "EXTRA_CFLAGS=-Wno-error=use-after-free", *objects], timeout=1800,
                   check=False)
    assert res.ok, res.tail(20)
    for obj in ("arch/x86/kvm/mmu/mmu.o", "arch/x86/kvm/mmu/tdp_mmu.o", "virt/kvm/kvm_main.o"):
        assert (build / obj).stat().st_size > 0, obj
    touched = ("kvm_main.c", "mmu.c", "tdp_mmu.c", "kvm_host.h")
    warnings = [line for line in res.stderr.splitlines()
                if "warning:" in line and any(f"/{name}:" in line for name in touched)]
    assert warnings == [], warnings


def test_drafts_address_the_tree_maintainers(applied, debian_mirror, tmp_path):
    """Drafts for the 5.10.223 series: To/Cc from that release's own get_maintainer.pl."""
    from bot.drafts.write import write

    _out, doc = applied("v5.10.223")
    files = write(debian_mirror, doc["base"], doc["head"], tmp_path / "drafts", version=2,
                  subject=doc["cover"]["subject"], blurb=doc["cover"]["blurb"],
                  previous=(doc["base"], doc["head"]))
    cover = files[0].read_text()
    assert files[0].name.startswith("v2-0000-cover-letter")
    assert "Subject: [PATCH v2 0/1] KVM: split kvm_is_reserved_pfn()" in cover
    to = cover.split("\nTo: ", 1)[1].split("\nCc: ", 1)[0]
    assert "Paolo Bonzini <pbonzini@redhat.com>" in to
    assert "kvm@vger.kernel.org" in cover.split("\nCc: ", 1)[1].split("\n\n", 1)[0]
    assert "Range-diff against v1:" in cover
    assert f"base-commit: {doc['base']}" in cover


def test_series_passes_the_trees_own_checkpatch(applied):
    for tag in ("v5.10.46", "v5.10.223"):
        out, doc = applied(tag)
        assert doc["checkpatch"]["errors"] == 0 and doc["checkpatch"]["warnings"] == 0, (
            (out / "checkpatch" / "checkpatch.log").read_text())
        assert len(doc["checkpatch"]["patches"]) == len(list((out / "series").glob("*.patch"))) - 1
