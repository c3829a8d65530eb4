"""The campaign on every 5.10.x release Debian offers (opt-in: ~1 GB of downloads, ~15 min).

    COCCI_BOT_EVERY_RELEASE=1 .venv/bin/python -m pytest tests/e2e/test_every_release.py

Mirrors every 5.10 release the configured apt sources list into the cache and
checks, per release: the run passes and is idempotent, every use is classified
(no unknown), every refcount/hugepage/dirty-accessed use is transformed or
deliberately left to an existing kvm_is_ad_tracked_pfn(), and the series
applies to the pristine base.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bot import cli, defaults
from bot.mirror import apt

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.environ.get("COCCI_BOT_EVERY_RELEASE") != "1",
    reason="opt-in: set COCCI_BOT_EVERY_RELEASE=1 (downloads every Debian 5.10 release)")]

MIRROR = defaults.cache_dir() / "every-release"


def offered_5_10() -> list[str]:
    if os.environ.get("COCCI_BOT_EVERY_RELEASE") != "1":
        return []
    best = apt.best_offers(apt.query_offers())
    return [str(up) for up in best if str(up).startswith("5.10.")]


@pytest.fixture(scope="module")
def mirror() -> Path:
    repo = MIRROR / "linux.git"
    assert cli.main(["mirror", "--data-dir", str(MIRROR / "data"), "--repo", str(repo),
                     *offered_5_10()]) == 0
    return repo


@pytest.mark.parametrize("version", offered_5_10())
def test_campaign_is_right_on(mirror: Path, version: str, tmp_path: Path):
    out = tmp_path / "out"
    assert cli.main(["apply", "--tree", str(mirror), "--rev", f"v{version}", "--campaign",
                     "kvm-refcounted-pfn", "--out", str(out), "--data-dir",
                     str(tmp_path / "data")]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["status"] == "PASS" and doc["idempotent"]
    classes = {s["class"] for s in doc["sites"]}
    assert "unknown" not in classes
    for site in doc["sites"]:
        if site["class"] in ("refcount", "hugepage", "dirty-accessed"):
            assert site["outcome"] == "transformed", site
    has_ad = subprocess.run(["git", "-C", str(mirror), "grep", "-q", "kvm_is_ad_tracked_pfn",
                             f"v{version}", "--", "virt/kvm/kvm_main.c"]).returncode == 0
    assert bool(doc["steps"][1]["commit"]) != has_ad   # step 2 only where the tree lacks it
