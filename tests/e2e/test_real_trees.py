"""The campaign on real kernel trees: Linux 4.20.1 (the RFC's base), early 5.10, late 5.10, 6.1.

4.20.1 counts ZONE_DEVICE pages as reserved (the RFC's bug is live): three patches, the
first one the fix, standing alone.  5.10.46 already excludes ZONE_DEVICE and still guards
SetPageDirty/mark_page_accessed with kvm_is_reserved_pfn(): the fix is skipped, two patches.
5.10.223 already has kvm_is_ad_tracked_pfn() and a kvm_try_get_pfn() with an early return:
one patch.
6.1 no longer has kvm_is_reserved_pfn() at all.

On every tree with a series: `git am` onto a pristine base gives the same tree, a second
apply changes nothing and finds no classified use left, the tree's own checkpatch is
clean, and every message says only what the patch does and what the tree has.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bot import cli, proc
from bot.apply import campaign

pytestmark = pytest.mark.slow
CAMPAIGN = "kvm-refcounted-pfn"
FRAGMENT = Path(__file__).resolve().parents[2] / "semantic_patches" / CAMPAIGN / "kernel.config"
SERIES_TAGS = ["v4.20.1", "v5.10.46", "v5.10.223"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, timeout=600).stdout.strip()


@pytest.fixture(scope="session")
def repo_of(request: pytest.FixtureRequest):
    """The bare repo holding a tag: the 4.20.1 tarball repo or the Debian mirror."""
    def pick(tag: str) -> Path:
        name = "linux_4_20_repo" if tag.startswith("v4.") else "debian_mirror"
        return request.getfixturevalue(name)
    return pick


@pytest.fixture(scope="session")
def applied(repo_of, tmp_path_factory: pytest.TempPathFactory):
    """apply on each release once per session: tag -> (out dir, report)."""
    results: dict[str, tuple[Path, dict]] = {}

    def run(tag: str) -> tuple[Path, dict]:
        if tag not in results:
            out = tmp_path_factory.mktemp(f"apply-{tag}")
            rc = cli.main(["apply", "--tree", str(repo_of(tag)), "--campaign", CAMPAIGN,
                           "--rev", tag, "--out", str(out / "run"),
                           "--data-dir", str(out / "data")])
            assert rc == 0
            results[tag] = (out / "run", json.loads((out / "run" / "report.json").read_text()))
        return results[tag]

    return run


@pytest.fixture
def pristine(repo_of, tmp_path: Path):
    """A fresh checkout of a release, removed afterwards."""
    made: list[tuple[Path, Path]] = []

    def checkout(tag: str) -> Path:
        wt = tmp_path / f"linux-{tag}"
        git(repo_of(tag), "worktree", "add", "--detach", "--quiet", str(wt), tag)
        made.append((repo_of(tag), wt))
        return wt

    yield checkout
    for repo, wt in made:
        git(repo, "worktree", "remove", "--force", str(wt))


def classes(doc: dict) -> dict[str, str]:
    return {f"{s['function']}@{s['file']}": s["class"] for s in doc["sites"]}


def patches(out: Path) -> list[str]:
    return sorted(str(p) for p in (out / "series").glob("*.patch") if not p.name.startswith("0000"))


def test_4_20_the_rfc_base_gets_the_fix(applied):
    _out, doc = applied("v4.20.1")
    assert doc["status"] == "PASS" and doc["idempotent"]
    assert [bool(s["commit"]) for s in doc["steps"]] == [True, True, True]
    assert "reserved_excludes_zone_device" not in doc["facts"]
    got = classes(doc)
    assert got["transparent_hugepage_adjust@arch/x86/kvm/mmu.c"] == "hugepage"   # && chain
    assert got["kvm_mmu_zap_collapsible_spte@arch/x86/kvm/mmu.c"] == "hugepage"
    assert got["kvm_set_pfn_dirty@virt/kvm/kvm_main.c"] == "dirty-accessed"       # via a local
    assert got["kvm_set_pfn_accessed@virt/kvm/kvm_main.c"] == "dirty-accessed"
    assert got["mmu_spte_clear_track_bits@arch/x86/kvm/mmu.c"] == "refcount"
    assert "unknown" not in got.values()
    users = [s for s in doc["sites"] if s["class"] not in ("definition", "declaration")]
    assert len(users) == 8 and all(s["outcome"] == "transformed" for s in users)
    # the fix guards the hugepage and dirty/accessed uses first; the cleanups name them after
    thp = [s for s in doc["sites"] if s["class"] == "hugepage"]
    assert thp and all(s["changed_by"] == ["01-zone-device", "02-refcounted-pfn"] for s in thp)
    ad = [s for s in doc["sites"] if s["class"] == "dirty-accessed"]
    assert ad and all(s["changed_by"] == ["01-zone-device", "03-ad-trackable-pfn"] for s in ad)
    refcount = [s for s in doc["sites"] if s["class"] == "refcount"]
    assert all(s["changed_by"] == ["02-refcounted-pfn"] for s in refcount)


def test_4_20_fix_alone_is_upstreams_in_substance(applied, pristine):
    """Patch 1 on the pristine base: kvm_is_reserved_pfn() excludes ZONE_DEVICE pages, the
    new test is declared next to it and WARNs on a refcount of 0, the dirty/accessed and THP
    paths keep ZONE_DEVICE pages out, and nothing of the later patches is needed."""
    out, _doc = applied("v4.20.1")
    tree = pristine("v4.20.1")
    git(tree, "am", "-q", patches(out)[0])
    main = (tree / "virt/kvm/kvm_main.c").read_text()
    assert ("return PageReserved(pfn_to_page(pfn)) &&\n\t\t       "
            "!kvm_is_zone_device_pfn(pfn);") in main
    assert "WARN_ON_ONCE(!page_count(pfn_to_page(pfn)))" in main
    assert main.count("if (!kvm_is_reserved_pfn(pfn) && !kvm_is_zone_device_pfn(pfn))") == 2
    assert ("bool kvm_is_reserved_pfn(kvm_pfn_t pfn);\nbool kvm_is_zone_device_pfn(kvm_pfn_t pfn);"
            in (tree / "include/linux/kvm_host.h").read_text())
    mmu = (tree / "arch/x86/kvm/mmu.c").read_text()
    assert "!kvm_is_reserved_pfn(pfn) &&\n\t    !kvm_is_zone_device_pfn(pfn) &&\n" in mmu
    assert "!kvm_is_reserved_pfn(pfn) &&\n\t\t\t!kvm_is_zone_device_pfn(pfn) &&\n" in mmu
    touched = "".join((tree / f).read_text() for f in (
        "virt/kvm/kvm_main.c", "arch/x86/kvm/mmu.c", "include/linux/kvm_host.h"))
    assert "kvm_is_refcounted_pfn" not in touched and "kvm_is_ad_trackable_pfn" not in touched


def test_early_5_10_splits_both_questions(applied):
    _out, doc = applied("v5.10.46")
    assert doc["status"] == "PASS" and doc["idempotent"]
    commits = [s["commit"] for s in doc["steps"]]
    assert commits[0] is None and commits[1] and commits[2]
    skipped = " ".join(doc["steps"][0]["skipped"].split())
    assert "already excludes ZONE_DEVICE pages (it asks kvm_is_zone_device_pfn())" in skipped
    assert "(in v5.4, backported to 4.19.y)" in skipped and "v5.5" not in skipped
    assert "refcount is 0" in skipped      # this tree's kvm_is_zone_device_pfn() tests page_count
    got = classes(doc)
    assert got["kvm_set_pfn_dirty@virt/kvm/kvm_main.c"] == "dirty-accessed"
    assert got["kvm_release_pfn_clean@virt/kvm/kvm_main.c"] == "refcount"
    assert got["kvm_mmu_hugepage_adjust@arch/x86/kvm/mmu/mmu.c"] == "hugepage"
    assert "unknown" not in got.values()
    users = [s for s in doc["sites"] if s["class"] not in ("definition", "declaration")]
    assert users and all(s["outcome"] == "transformed" for s in users)
    assert set(doc["steps"][1]["files"]) == {"arch/x86/kvm/mmu/mmu.c", "arch/x86/kvm/mmu/tdp_mmu.c",
                                             "include/linux/kvm_host.h", "virt/kvm/kvm_main.c"}


def test_late_5_10_leaves_ad_tracked_alone(applied):
    _out, doc = applied("v5.10.223")
    assert doc["status"] == "PASS" and doc["idempotent"]
    assert doc["steps"][0]["commit"] is None and doc["steps"][1]["commit"]
    assert doc["steps"][2]["commit"] is None
    assert "kvm_is_ad_tracked_pfn()" in doc["steps"][2]["skipped"]
    got = classes(doc)
    assert got["kvm_try_get_pfn@virt/kvm/kvm_main.c"] == "refcount"   # the early-return shape
    assert got["kvm_pfn_to_page@virt/kvm/kvm_main.c"] == "refcount"
    assert "dirty-accessed" not in got.values() and "unknown" not in got.values()
    first = Path(patches(_out)[0]).read_text()
    assert "mark the page dirty" not in first.split("\n---\n")[0]


def test_6_1_has_nothing_to_do(applied):
    out, doc = applied("v6.1.176")
    assert doc["nothing_to_do"] and doc["sites"] == [] and doc["status"] == "PASS"
    assert not (out / "series").exists() or not list((out / "series").glob("*.patch"))


@pytest.mark.parametrize("tag", SERIES_TAGS)
def test_series_applies_to_pristine_base_and_leaves_no_converted_use(applied, pristine, tag,
                                                                     tmp_path):
    out, doc = applied(tag)
    tree = pristine(tag)
    git(tree, "am", "-q", "--committer-date-is-author-date", *patches(out))
    assert git(tree, "rev-parse", "HEAD^{tree}") == git(tree, "rev-parse",
                                                         f"{doc['head']}^{{tree}}")
    again = tmp_path / "again"
    assert cli.main(["apply", "--tree", str(tree), "--campaign", CAMPAIGN, "--out", str(again),
                     "--data-dir", str(tmp_path / "data")]) == 0
    redo = json.loads((again / "report.json").read_text())
    assert all(s["commit"] is None for s in redo["steps"])
    assert {s["class"] for s in redo["sites"]} <= {"definition", "declaration"}, redo["sites"]


@pytest.mark.parametrize("tag", SERIES_TAGS)
def test_series_passes_the_trees_own_checkpatch(applied, tag):
    out, doc = applied(tag)
    assert doc["checkpatch"]["errors"] == 0 and doc["checkpatch"]["warnings"] == 0, (
        (out / "checkpatch" / "checkpatch.log").read_text())
    assert len(doc["checkpatch"]["patches"]) == len(patches(out))


# ------------------------------------------------------------------ messages tell the truth

ATTRS = "*.c diff=cpp\n*.h diff=cpp\n"


def changed_functions(repo: Path, commit: str, attrs: Path) -> set[tuple[str, str]]:
    """(function, file) of every hunk of a commit: git's C function context of each -U0 hunk."""
    out = git(repo, "-c", f"core.attributesFile={attrs}", "show", "-U0", "--format=", commit)
    found, current = set(), ""
    for line in out.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else ""
        elif line.startswith("@@"):
            ctx = line.split("@@", 2)[2]
            m = re.search(r"(\w+)\s*\(", ctx)
            if m:
                found.add((m.group(1), current))
    return found


def listed(message: str) -> set[tuple[str, str]]:
    """The "Changed uses:" block: (function, file) per line."""
    if "Changed uses:\n" not in message:
        return set()
    block = message.split("Changed uses:\n", 1)[1].split("\n\n", 1)[0]
    return {(m.group(1), m.group(2))
            for m in re.finditer(r"^  (\w+)\(\) \([\w-]+, ([\w./-]+)\)$", block, re.M)}


def body(repo: Path, rev: str, path: str, signature: str) -> str:
    text = git(repo, "show", f"{rev}:{path}")
    start = text.find(signature)
    return text[start:text.find("\n}\n", start)] if start >= 0 else ""


def properties(repo: Path, doc: dict) -> dict[str, bool]:
    """What the tree has, read off its code (not off the classifier): phrase -> holds."""
    base, head = doc["base"], doc["head"]
    main = "virt/kvm/kvm_main.c"
    reserved = body(repo, base, main, "bool kvm_is_reserved_pfn(kvm_pfn_t pfn)\n{")
    zone = body(repo, head, main, "bool kvm_is_zone_device_pfn(kvm_pfn_t pfn)\n{")
    dirty = body(repo, base, main, "void kvm_set_pfn_dirty(kvm_pfn_t pfn)\n{")
    return {
        "already excludes ZONE_DEVICE": "zone_device" in reserved,
        "still counts ZONE_DEVICE pages as reserved": "zone_device" not in reserved,
        "returns true for every ZONE_DEVICE": "zone_device" not in reserved,
        "already ask a predicate of their own, kvm_is_ad_tracked_pfn()":
            "kvm_is_ad_tracked_pfn(" in git(repo, "show", f"{base}:{main}"),
        "refcount is 0": "page_count(" in zone,
        "and whether KVM may mark the page dirty or accessed": "kvm_is_reserved_pfn(" in dirty,
    }


@pytest.mark.parametrize("tag", SERIES_TAGS)
def test_messages_tell_the_truth(applied, repo_of, tag, tmp_path):
    """Each function a message lists as changed is changed by that patch (and each one the
    patch changes is listed); every name() it mentions exists in the tree; each property it
    states holds for this tree's code."""
    out, doc = applied(tag)
    repo = repo_of(tag)
    attrs = tmp_path / "attributes"
    attrs.write_text(ATTRS)
    facts = properties(repo, doc)
    # the cover's text (below the `---` of a series of one patch); apply's claim check proved
    # each statement on the tree (bot/apply/claims.py)
    assert doc["claims"]["status"] == "PASS", doc["claims"]["failed"]
    texts = [("cover letter", doc["cover"]["blurb"])]
    # a function named as another release's (a commit the campaign's table says adds it)
    elsewhere = {f for c in campaign.load("kvm-refcounted-pfn").commits.values()
                 for f in c.get("adds", [])}
    for step in doc["steps"]:
        if not step["commit"]:
            continue
        message = git(repo, "log", "-1", "--format=%B", step["commit"])
        texts.append((step["name"], message))
        changed = changed_functions(repo, step["commit"], attrs)
        assert listed(message) <= changed, (step["name"], listed(message) - changed)
        sites = {(s["function"], s["file"]) for s in doc["sites"]
                 if step["name"] in s.get("changed_by", [])}
        assert listed(message) == sites
    for where, text in texts:
        for phrase, holds in facts.items():
            if phrase in " ".join(text.split()):
                assert holds, f"{tag} {where} says {phrase!r}, which this tree's code does not"
        mentioned = set(re.findall(r"\b([A-Za-z_]\w*)\(\)", text)) - elsewhere
        grep = git(repo, "grep", "-h", "-o", "-w", *(x for n in sorted(mentioned)
                                                      for x in ("-e", n)), doc["head"])
        assert mentioned <= set(grep.split()), f"{tag} {where}: {mentioned - set(grep.split())}"


# ------------------------------------------------------------- every step's objects compile

def test_touched_objects_compile_at_every_step_4_20(applied, pristine, tmp_path):
    """arch/x86/kvm/ (mmu.o, kvm_main.o and the rest) at the base and after each patch of the
    4.20.1 series, tinyconfig + the campaign's fragment; no warning the base does not have."""
    out, doc = applied("v4.20.1")
    tree = pristine("v4.20.1")
    build = tmp_path / "o"
    make = ["make", "-C", str(tree), f"O={build}", "-j2", "-s"]
    proc.run([*make, "tinyconfig"], timeout=600)
    proc.run([str(tree / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(build),
              str(build / ".config"), str(FRAGMENT)], cwd=tree, timeout=300)
    # 4.20's objtool cannot read what Debian 12's binutils write ("missing symbol table")
    proc.run([str(tree / "scripts/config"), "--file", str(build / ".config"),
              "-d", "STACK_VALIDATION", "-d", "UNWINDER_ORC", "-e", "UNWINDER_FRAME_POINTER"],
             timeout=60)
    proc.run([*make, "olddefconfig"], timeout=600)
    warnings: dict[str, set[str]] = {}
    for rev in ["v4.20.1", *(s["commit"] for s in doc["steps"] if s["commit"])]:
        git(tree, "checkout", "-q", "--detach", rev)
        res = proc.run([*make, "WERROR=0", "arch/x86/kvm/"], timeout=3600, check=False)
        assert res.ok, (rev, res.tail(20))
        for obj in ("arch/x86/kvm/mmu.o", "virt/kvm/kvm_main.o"):
            assert (build / obj).stat().st_size > 0, (rev, obj)
        warnings[rev] = {re.sub(r":\d+:\d+:", ":", line) for line in res.stderr.splitlines()
                         if "warning:" in line}
    for rev, found in warnings.items():
        assert found <= warnings["v4.20.1"], (rev, found - warnings["v4.20.1"])


def test_touched_objects_compile_early_5_10(applied, pristine, tmp_path):
    """`make` of every object the series touches, on a tinyconfig + KVM configuration."""
    out, doc = applied("v5.10.46")
    tree = pristine("v5.10.46")
    git(tree, "am", "-q", *patches(out))
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
    from bot.apply.identity import Identity
    from bot.drafts.signoff import Signing
    from bot.drafts.write import write

    _out, doc = applied("v5.10.223")
    files = write(debian_mirror, doc["base"], doc["head"], tmp_path / "drafts", version=2,
                  subject=doc["cover"]["subject"], blurb=doc["cover"]["blurb"],
                  previous=(doc["base"], doc["head"]),
                  signing=Signing(Identity("Alice Maintainer", "alice@example.org"), None))
    cover = files[0].read_text()     # a series of one patch: no cover letter
    assert [f.name[:8] for f in files] == ["v2-0001-"]
    assert "Subject: [PATCH v2] KVM: Split use cases for kvm_is_reserved_pfn" in cover
    to = cover.split("\nTo: ", 1)[1].split("\nCc: ", 1)[0]
    assert "Paolo Bonzini <pbonzini@redhat.com>" in to
    assert "kvm@vger.kernel.org" in cover.split("\nCc: ", 1)[1].split("\n\n", 1)[0]
    assert "Range-diff against v1:" in cover
    assert f"base-commit: {doc['base']}" in cover
