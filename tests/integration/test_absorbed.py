"""A release where upstream absorbed the campaign: nothing is posted, the open older version
becomes Not Applicable with a comment naming the release, and the run says so."""

from __future__ import annotations

from pathlib import Path

import requests
from bot_setup import auth, bot_toml, embedded_queue, git, maintainer_token, run, run_json


def test_absorbed_release_marks_the_open_version_not_applicable(tmp_path: Path,
                                                                 fake_kernel_tree: Path,
                                                                 capsys):
    tree, data = fake_kernel_tree, tmp_path / "data"
    cfg = bot_toml(tmp_path / "bot.toml", tree)
    assert run(cfg, data) == 0
    v1 = run_json(data, 1)
    series_id = v1["stages"]["post"]["series_id"]
    # upstream takes the series as it is: the next release has nothing left to do
    patches = sorted(str(p) for p in (data / "runs" / "1" / "series").glob("0[0-9][0-9][1-9]-*"))
    git(tree, "am", "-q", *patches)
    git(tree, "tag", "v5.10.2")
    capsys.readouterr()
    assert run(cfg, data) == 0
    err = capsys.readouterr().err
    v2 = run_json(data, 2)
    assert v2["stages"]["apply"]["nothing_to_do"] is True
    post = v2["stages"]["post"]
    assert post["status"] == "SKIPPED" and post["absorbed"] == [series_id], post
    assert "nothing left to do on v5.10.2: upstream absorbed the campaign; series " \
        f"{series_id} marked Not Applicable" in err
    token = maintainer_token(data)
    with embedded_queue(data) as url:
        s1 = requests.get(f"{url}/api/1.2/series/{series_id}/", timeout=30,
                          headers=auth(token)).json()
    assert s1["state"] == "not-applicable"
    # v1's drafts stage hears the decision and writes nothing
    assert run(cfg, data) == 0
    v1 = run_json(data, 1)
    assert v1["stages"]["drafts"] == {**v1["stages"]["drafts"], "status": "SKIPPED"}
    assert "not-applicable" in v1["stages"]["drafts"]["why"]
