"""Campaigns are data: a second, small campaign (tests/fixtures/campaigns/kfree-null) runs
through the same engine with no code change: its own classes, notes, templates and skip rule."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bot.apply import campaign, stage

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "campaigns"

SOURCE = """\
static void drop_buf(struct ctx *c)
{
	if (c->buf)
		kfree(c->buf);
}

static void drop_all(struct ctx *c)
{
	kfree(c->name);
}
"""


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "linux"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "buf.c").write_text(SOURCE)
    subprocess.run(["git", "init", "-q", "-b", "master", str(tree)], check=True)
    git(tree, "add", "-A")
    git(tree, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "base")
    return tree


def test_second_campaign_loads_from_its_folder():
    assert "kfree-null" in campaign.available(ROOT)
    camp = campaign.load("kfree-null", ROOT)
    assert set(camp.classes) >= {"guarded", "plain", "definition", "declaration", "unknown"}
    assert [s.name for s in camp.steps] == ["drop-null-test", "sensitive"]


def test_second_campaign_runs_end_to_end(tmp_path: Path):
    tree = _tree(tmp_path)
    out = tmp_path / "out"
    doc = stage.apply(stage.Options(tree=tree, campaign="kfree-null", out=out,
                                    data_dir=tmp_path / "data", campaigns_root=ROOT,
                                    ident=("Ann Example", "ann@example.org")))
    assert doc["status"] == "PASS" and doc["idempotent"], doc
    by_fn = {s["function"]: s for s in doc["sites"]}
    assert by_fn["drop_buf"]["class"] == "guarded" and by_fn["drop_buf"]["outcome"] == "transformed"
    assert by_fn["drop_all"] == by_fn["drop_all"] | {
        "class": "plain", "outcome": "untouched", "note": "kfree() on its own"}
    assert doc["steps"][1]["skipped"] == "This tree calls no kfree_sensitive()."
    patch = sorted((out / "series").glob("0001-*.patch"))[0].read_text()
    assert "drop_buf() test the pointer before kfree(), which accepts NULL.  Drop\nthe 1 tests." \
        in patch
    assert "drop_all()" not in patch.split("---")[0] and "Link:" not in patch
    # a series of one patch has no cover letter: the cover's facts go below its `---`
    assert not (out / "series" / "0000-cover-letter.patch").exists()
    notes = patch.split("\n---\n", 1)[1].split("\ndiff --git")[0]
    assert "Calls without such a test are left as they are." in notes
    assert "This patch is a cleanup with no functional change" in notes
    assert doc["tree_kind"] == "mainline" and doc["claims"]["status"] == "PASS"
    assert json.loads((out / "report.json").read_text())["campaign"] == "kfree-null"
