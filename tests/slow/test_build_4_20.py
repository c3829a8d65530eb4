"""Linux 4.20.1 (the RFC's base, from shared/kernels/ via `cocci-bot mirror --tarball`) through
the build library: its objtool cannot read the empty objects Debian 12's assembler writes, so
the build turns stack validation off for this tree, says so in build.json, and passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kernel_trees import TAG_4_20, commit_change

from bot import defaults
from bot.build import fragment
from bot.build.run import Options, build

pytestmark = pytest.mark.slow

# a change that compiles into the same object (kvm_main.o): the patched build is incremental
HARMLESS_4_20 = {
    "virt/kvm/kvm_main.c": ("bool kvm_is_reserved_pfn(kvm_pfn_t pfn)\n{\n",
                            "bool kvm_is_reserved_pfn(kvm_pfn_t pfn)\n{\n\t/* cocci-bot test */\n"),
}


def test_4_20_1_builds_with_its_tree_settings(linux_4_20_repo: Path, tmp_path: Path):
    rev = commit_change(linux_4_20_repo, "test/harmless-4.20", HARMLESS_4_20,
                        "kvm: harmless test change\n\nSigned-off-by: Test <test@example.org>\n",
                        base=TAG_4_20)
    fragment_path = (defaults.project_root() / "semantic_patches" / defaults.CAMPAIGN
                     / defaults.BUILD_FRAGMENT)
    out = tmp_path / "build"
    rec = build(Options(tree=linux_4_20_repo, rev=rev, base=TAG_4_20, out=out,
                        work_dir=defaults.cache_dir() / "test-build-work",
                        fragment=fragment_path, jobs=defaults.BUILD_JOBS))
    assert rec["status"] == "PASS", rec["reason"]
    assert rec == json.loads((out / "build.json").read_text())
    assert [s["name"] for s in rec["tree_settings"]] == ["objtool-off"]
    assert "missing symbol table" in rec["tree_settings"][0]["why"]
    config = fragment.parse((out / "base" / "config").read_text())
    assert config.get("CONFIG_STACK_VALIDATION", "n") == "n"
    assert config.get("CONFIG_RETPOLINE", "n") == "n"
    assert config["CONFIG_KVM"] == "y" and rec["fragment_mismatches"] == []
    assert (out / "tree-settings.config").is_file()
    assert rec["new_warnings"] == [] and rec["not_compiled"] == []
    assert Path(rec["kernel"]).is_file()
