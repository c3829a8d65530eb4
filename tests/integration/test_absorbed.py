"""A release where upstream absorbed the campaign: nothing is posted, the open older version
becomes Not Applicable with a comment naming the release, and the run says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from bot import cli


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_absorbed_release_marks_the_open_version_not_applicable(tmp_path: Path,
                                                                 fake_kernel_tree: Path,
                                                                 capsys):
    tree, data = fake_kernel_tree, tmp_path / "data"
    cfg = tmp_path / "bot.toml"
    cfg.write_text(f"""
[[tree]]
name = "small-linux"
source = "git"
path = "{tree}"
tags = "v5.10.*"

[checks]
build = false
boot = false
""")
    argv = ["run", "--config", str(cfg), "--data-dir", str(data)]
    assert cli.main(argv) == 0
    v1 = json.loads((data / "runs" / "1" / "run.json").read_text())
    series_id = v1["stages"]["post"]["series_id"]
    # upstream takes the series as it is: the next release has nothing left to do
    patches = sorted(str(p) for p in (data / "runs" / "1" / "series").glob("0[0-9][0-9][1-9]-*"))
    subprocess.run(["git", "-C", str(tree), "am", "-q", *patches], check=True)
    git(tree, "tag", "v5.10.2")
    capsys.readouterr()
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    v2 = json.loads((data / "runs" / "2" / "run.json").read_text())
    assert v2["stages"]["apply"]["nothing_to_do"] is True
    post = v2["stages"]["post"]
    assert post["status"] == "SKIPPED" and post["absorbed"] == [series_id], post
    assert "nothing left to do on v5.10.2: upstream absorbed the campaign; series " \
        f"{series_id} marked Not Applicable" in err
    token = subprocess.run([sys.executable, "-m", "bot", "serve", "--create-token", "maintainer",
                            "alice", "--data-dir", str(data)], check=True, capture_output=True,
                           text=True, timeout=120).stdout.split()[-1]
    from bot.pipeline.config import Config
    from bot.pipeline.queue import Queue

    with Queue(Config(), data) as q:
        url, _ = q()
        s1 = requests.get(f"{url}/api/1.2/series/{series_id}/", timeout=30,
                          headers={"Authorization": f"Token {token}"}).json()
    assert s1["state"] == "not-applicable"
    # v1's drafts stage hears the decision and writes nothing
    assert cli.main(argv) == 0
    v1 = json.loads((data / "runs" / "1" / "run.json").read_text())
    assert v1["stages"]["drafts"] == {**v1["stages"]["drafts"], "status": "SKIPPED"}
    assert "not-applicable" in v1["stages"]["drafts"]["why"]
