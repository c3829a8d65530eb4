"""What vN+1 says about vN: the call sites that appeared, vanished or changed class, and where
the cover letter says it."""

from __future__ import annotations

from pathlib import Path

from bot.post import regen


def site(fn: str, expr: str, cls: str, line: int = 1, file: str = "virt/kvm/kvm_main.c") -> dict:
    return {"file": file, "line": line, "function": fn, "expression": expr, "class": cls,
            "outcome": "transformed"}


OLD = {"tag": "v5.10.46", "base": "a" * 40, "sites": [
    site("kvm_release_pfn_clean", "!kvm_is_reserved_pfn(pfn)", "refcount", 10),
    site("kvm_set_pfn_dirty", "!kvm_is_reserved_pfn(pfn)", "ad", 20),
    site("gone_fn", "kvm_is_reserved_pfn(pfn)", "mmio", 30),
    site("twice", "kvm_is_reserved_pfn(pfn)", "refcount", 40),
]}
NEW = {"tag": "v5.10.223", "base": "b" * 40, "sites": [
    site("kvm_release_pfn_clean", "!kvm_is_reserved_pfn(pfn)", "refcount", 12),  # moved only
    site("kvm_set_pfn_dirty", "!kvm_is_reserved_pfn(pfn)", "refcount", 22),       # class
    site("twice", "kvm_is_reserved_pfn(pfn)", "refcount", 40),
    site("twice", "kvm_is_reserved_pfn(pfn)", "refcount", 44),                    # a second
    site("new_fn", "kvm_is_reserved_pfn(pfn)", "hugepage", 50),
]}


def test_site_delta_ignores_moved_lines_and_counts_repeats():
    delta = regen.site_delta(OLD, NEW)
    assert [(s["function"], s["line"]) for s in delta["appeared"]] == [("twice", 44),
                                                                        ("new_fn", 50)]
    assert [s["function"] for s in delta["vanished"]] == ["gone_fn"]
    assert [(s["function"], s["was"], s["class"]) for s in delta["changed"]] == [
        ("kvm_set_pfn_dirty", "ad", "refcount")]
    assert regen.site_delta(OLD, OLD) == {"appeared": [], "vanished": [], "changed": []}


def test_changes_text_goes_after_the_blurb(tmp_path: Path):
    prev = regen.Previous(tmp_path, version=1, series_id=3, cover_message_id=None, report=OLD)
    text = regen.changes_text(prev, NEW, regen.site_delta(OLD, NEW))
    assert text.splitlines() == [
        "Changes since v1 (regenerated on v5.10.223, v1 was generated on v5.10.46):",
        "- new call site: virt/kvm/kvm_main.c: twice(): kvm_is_reserved_pfn(pfn) [refcount]",
        "- new call site: virt/kvm/kvm_main.c: new_fn(): kvm_is_reserved_pfn(pfn) [hugepage]",
        "- call site gone: virt/kvm/kvm_main.c: gone_fn(): kvm_is_reserved_pfn(pfn) [mmio]",
        "- class changed: virt/kvm/kvm_main.c: kvm_set_pfn_dirty(): !kvm_is_reserved_pfn(pfn) "
        "[ad -> refcount]"]
    cover = ("Subject: [PATCH 0/2] x\n\nThe blurb.\n\nBot Name (2):\n  a\n  b\n\n"
             " f.c | 2 +-\n")
    out = regen.with_changes(cover, text)
    assert out.index("The blurb.") < out.index("Changes since v1") < out.index("Bot Name (2):")
    same = regen.changes_text(prev, OLD, regen.site_delta(OLD, OLD))
    assert same.endswith("- the same call sites, in the same classes")
