"""The claim check (bot/apply/claims.py, the [[claims]] rules in bot/apply/messages.py): each
false sentence a KVM reviewer found (issue 14 §2), rewritten into a message, fails on a real
git tree shaped like the one it was false on; its corrected form passes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.apply import campaign, claims, messages
from bot.apply.report import Site

CAMP = campaign.load("kvm-refcounted-pfn")

MAIN_4_20 = """\
bool kvm_is_reserved_pfn(kvm_pfn_t pfn)
{
	if (pfn_valid(pfn))
		return PageReserved(pfn_to_page(pfn));

	return true;
}

void kvm_set_pfn_dirty(kvm_pfn_t pfn)
{
	if (!kvm_is_reserved_pfn(pfn)) {
		struct page *page = pfn_to_page(pfn);

		if (!PageReserved(page))
			SetPageDirty(page);
	}
}
"""

# 4.20's page-flags.h says it otherwise; 5.10's says "(e.g. set dirty) except by its owner"
PAGE_FLAGS_4_20 = """\
/*
 * PG_reserved is set for special pages, which can never be swapped out. Some
 * of them might not even exist...
 */
"""


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def tree(tmp_path: Path) -> claims.Tree:
    """A 4.20-shaped tree: kvm_main.c without kvm_is_zone_device_pfn(), page-flags.h,
    the stable rules; then one commit adding a helper (the "series")."""
    repo = tmp_path / "linux"
    for path, text in (("virt/kvm/kvm_main.c", MAIN_4_20),
                       ("include/linux/page-flags.h", PAGE_FLAGS_4_20),
                       ("Documentation/process/stable-kernel-rules.rst", "stable rules\n")):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True)
    ident = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    git(repo, "add", "-A")
    git(repo, *ident, "commit", "-qm", "Linux 4.20.1")
    base = git(repo, "rev-parse", "HEAD")
    main = repo / "virt/kvm/kvm_main.c"
    main.write_text(main.read_text() + "\nstatic bool kvm_pfn_ad_trackable(kvm_pfn_t pfn)\n{\n"
                    "\treturn !kvm_is_reserved_pfn(pfn);\n}\n")
    git(repo, *ident, "commit", "-qam", "KVM: add kvm_pfn_ad_trackable()")
    head = git(repo, "rev-parse", "HEAD")
    added = "\n".join(line[1:] for line in git(repo, "diff", base, head).splitlines()
                      if line.startswith("+") and not line.startswith("+++"))
    return claims.Tree(repo, base, head, ["virt/kvm/kvm_main.c"], added)


def failures(tree: claims.Tree, text: str, kind: str = "cleanup", comments: str = "",
             all_cleanup: bool = True) -> list[str]:
    label = "cover" if kind == "cover" else "01-x"
    result = claims.check(CAMP, tree, [claims.Message(label, text, kind, all_cleanup)],
                          claims.comments(comments), (4, 20, 1))
    return [f.why for f in result.failures]


# --------------------------------------------- the five false sentences of issue 14 §2

def test_negation_reason_fails_where_a_converted_use_was_negated():
    text = ("No functional change: every converted expression is the logical negation of "
            "the new inline helper's body.")
    facts = messages.Facts(changed=[Site("virt/kvm/kvm_main.c", 3, 0, "kvm_get_pfn",
                                         "!kvm_is_reserved_pfn(pfn)", "refcount")])
    messages.prove(CAMP, text, facts, "01-refcounted-pfn")
    assert [why for _, _, why in facts.unproved] == [
        "a use written !kvm_is_reserved_pfn(x) equals the helper's body, not its negation"]
    bare = messages.Facts(changed=[Site("virt/kvm/kvm_main.c", 3, 0, "kvm_get_pfn",
                                        "kvm_is_reserved_pfn(pfn)", "refcount")])
    messages.prove(CAMP, text, bare, "01-refcounted-pfn")
    assert bare.unproved == []


def test_acked_by_a_kvm_maintainer_fails(tree: claims.Tree):
    said = failures(tree, "Upstream took a78986aae9b2 and a KVM maintainer acked it.")
    assert said == ["a78986aae9b2 was acked by Dan Williams (nvdimm/DAX), not by KVM maintainer"]
    assert failures(tree, "Dan Williams acked a78986aae9b2 for nvdimm/DAX, and it was "
                          "applied by Paolo Bonzini.") == []


def test_every_later_tree_carries_a_replaced_commit_fails(tree: claims.Tree):
    said = failures(tree, "It uses a78986aae9b2: that is what every later tree carries.")
    assert said == ["a78986aae9b2 was replaced in v6.0: not every later tree carries it"]


def test_quote_of_page_flags_h_not_in_this_tree_fails(tree: claims.Tree):
    comment = ("/* page-flags.h: \"a page tagged PG_reserved should in general not be touched "
               "(e.g. set dirty) except by its owner\" */")
    said = failures(tree, "Add kvm_pfn_ad_trackable().", comments=comment)
    assert said == ["the quoted text is not in page-flags.h of this tree"]
    quoted = "/* page-flags.h: \"PG_reserved is set for special pages, which can never be " \
             "swapped out.\" */"
    assert failures(tree, "Add kvm_pfn_ad_trackable().", comments=quoted) == []


def test_later_stable_releases_with_a_helper_this_tree_lacks_fails(tree: claims.Tree):
    text = ("The name is new on purpose: later stable releases carry a helper called "
            "kvm_is_ad_tracked_pfn() with a different body.")
    facts = messages.Facts()
    messages.prove(CAMP, text, facts, "02-ad-trackable-pfn")
    assert facts.unproved and "say which releases" in facts.unproved[0][2]
    assert failures(tree, text) == [
        "kvm_is_ad_tracked_pfn() is not in this tree (before or after the series), and no "
        "commit the sentence names adds it"]
    fixed = ("The name is new on purpose: a1040b0d42ac (\"KVM: Don't set Accessed/Dirty bits "
             "for ZERO_PAGE\"), in v6.0 and backported to 5.10.y, adds a "
             "kvm_is_ad_tracked_pfn() of its own.")
    assert failures(tree, fixed) == []


def test_refcount_question_should_change_fails_where_the_tree_has_the_fix():
    text = "Only the refcount question should change for ZONE_DEVICE pages, so name it."
    fixed_tree = messages.Facts(tree={"reserved_excludes_zone_device"})
    messages.prove(CAMP, text, fixed_tree, "01-refcounted-pfn")
    assert [why for _, _, why in fixed_tree.unproved] == [
        "this tree's kvm_is_reserved_pfn() already excludes ZONE_DEVICE pages"]
    live_bug = messages.Facts()
    messages.prove(CAMP, text, live_bug, "01-refcounted-pfn")
    assert live_bug.unproved == []


# --------------------------------------------- the checkable statements, one by one

def test_functions_and_files_must_exist(tree: claims.Tree):
    assert failures(tree, "kvm_set_pfn_dirty() in virt/kvm/kvm_main.c asks it.") == []
    assert failures(tree, "kvm_vcpu_map() asks it.") == [
        "kvm_vcpu_map() is not in this tree (before or after the series), and no commit the "
        "sentence names adds it"]
    assert failures(tree, "See virt/kvm/nothing.c.") == ["virt/kvm/nothing.c is not a file of "
                                                         "this tree"]
    # a helper the series adds exists after it; an absence claimed is proved absent
    assert failures(tree, "Add kvm_pfn_ad_trackable() and no kvm_vcpu_map().") == []
    assert failures(tree, "This tree calls no kvm_set_pfn_dirty().") == [
        "the sentence says there is no kvm_set_pfn_dirty(), but this tree has it"]


def test_commit_ids_titles_and_releases(tree: claims.Tree):
    assert failures(tree, "Fixes: 3565fce3a659 (\"mm, x86: get_user_pages() for dax "
                          "mappings\")") == []
    assert failures(tree, "Upstream did it in 0123456789ab.") == [
        "commit 0123456789ab is not in the campaign's [commits] table (title, release)"]
    assert failures(tree, "See a78986aae9b2 (\"KVM: Fix ZONE_DEVICE\").") == [
        "commit a78986aae9b2 is \"KVM: MMU: Do not treat ZONE_DEVICE pages as being "
        "reserved\", not \"KVM: Fix ZONE_DEVICE\""]
    assert failures(tree, "It is in v5.4 and 4.19.y, and 4.20.17 was the last 4.20.") == []
    assert failures(tree, "Fixed in 4.20.18.") == [
        "release 4.20.18 is not a release the campaign's [releases] table knows"]
    assert failures(tree, "Since v4.21.") == [
        "release v4.21 is not a release the campaign's [releases] table knows"]


def test_a_commit_the_tree_has_is_checked_through_git(tree: claims.Tree):
    sha = git(tree.repo, "rev-parse", "HEAD")
    camp = campaign.Campaign(**{**CAMP.__dict__, "commits": {
        sha[:12]: {"title": "KVM: something else", "release": "v4.20"}}})
    result = claims.check(camp, tree, [claims.Message("cover", f"See {sha[:12]}.", "cover")])
    assert [f.why for f in result.failures] == [
        f"this tree's {sha[:12]} is \"KVM: add kvm_pfn_ad_trackable()\", the table says "
        "\"KVM: something else\""]


def test_no_functional_change_only_on_cleanups(tree: claims.Tree):
    assert failures(tree, "No functional change.", kind="cleanup") == []
    assert failures(tree, "No functional change.", kind="fix") == [
        "a fix changes behaviour: \"no functional change\" is for cleanup steps"]
    assert failures(tree, "This series is a cleanup with no functional change.", kind="cover",
                    all_cleanup=False) == [
        "the series has a fix: the cover cannot say \"no functional change\" of it"]
    # a sentence about named patches holds if those are the cleanups
    series = ("fix", "cleanup", "cleanup")
    for text, said in (("Patches 2 and 3 are cleanups with no functional change.", []),
                       ("Patches 1 and 2 are cleanups with no functional change.",
                        ["patch 1 is not a cleanup: \"no functional change\" is for cleanup "
                         "steps"])):
        result = claims.check(CAMP, tree, [claims.Message("01-x", text, "fix", series=series)])
        assert [f.why for f in result.failures] == said


def test_quoted_code_must_be_in_the_named_file(tree: claims.Tree):
    assert failures(tree, "They test \"!kvm_is_reserved_pfn(pfn)\" first.") == []
    assert failures(tree, "They test \"!kvm_is_reserved_pfn(pfn) && "
                          "!kvm_is_zone_device_pfn(pfn)\" first.") == [
        "the quoted text is not in any file the series touches of this tree"]


def test_long_lines_are_found_but_links_may_be_long():
    mail = ("From: a\nSubject: [PATCH] KVM: x\n\n" + "word " * 20 + "\n"
            "Link: https://lore.kernel.org/r/" + "x" * 80 + "\n---\n"
            " virt/kvm/kvm_main.c | 2 +-\n\ndiff --git a/x b/x\n+" + "y" * 100 + "\n")
    assert [len(line) for line in claims.message_lines(mail)
            if len(line) > claims.MAX_COLUMNS] == [100]


def test_the_claim_check_goes_to_the_queue_and_a_failed_one_is_not_posted(tmp_path: Path):
    import json

    from bot.errors import UserError
    from bot.post import outdir, publish

    proved = {"status": "PASS", "checked": 40, "failed": []}
    (check,) = [c for c in outdir.checks(tmp_path, {"claims": proved})
                if c["context"] == "claims"]
    assert check["state"] == "success" and "40 statements proved" in check["description"]
    failed = {"status": "FAIL", "checked": 40, "failed": [
        {"message": "cover", "sentence": "A KVM maintainer acked it.", "why": "not so"}]}
    (check,) = [c for c in outdir.checks(tmp_path, {"claims": failed})
                if c["context"] == "claims"]
    assert check["state"] == "fail" and "A KVM maintainer acked it." in check["description"]
    # apply FAILs such a series, and post refuses it before it reaches the queue
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "0001-x.patch").write_text("From x\nSubject: [PATCH] x\n\nx\n")
    (tmp_path / "report.json").write_text(json.dumps({"claims": failed, "status": "FAIL"}))
    with pytest.raises(UserError, match="apply did not PASS"):
        publish.post(tmp_path, "http://127.0.0.1:9", "token")
