"""A human signs off, end to end on a host with no git identity anywhere: `cocci-bot run`
posts a series the bot authored (nobody signs it); a maintainer without an e-mail cannot
accept it and is told the fix; the one who accepts signs the drafts off and authors them."""

from __future__ import annotations

import email
import subprocess
from email.policy import default as default_policy
from pathlib import Path

import requests
from bot_setup import (
    BOT,
    MAINTAINER,
    accept,
    auth,
    bot_toml,
    embedded_queue,
    queue_series,
    run,
    run_json,
)

ALICE = f"{MAINTAINER[0]} <{MAINTAINER[1]}>"


def test_bot_authored_series_signed_off_by_the_maintainer_who_accepts(
        tmp_path: Path, fake_kernel_tree: Path, no_identity, capsys):
    assert subprocess.run(["git", "-C", str(fake_kernel_tree), "-c", "user.useConfigOnly=true",
                           "var", "GIT_COMMITTER_IDENT"], capture_output=True).returncode != 0
    data = tmp_path / "data"
    cfg = bot_toml(tmp_path / "bot.toml", fake_kernel_tree)
    assert run(cfg, data) == 0
    assert "post PASS, drafts WAITING" in capsys.readouterr().err
    [series] = queue_series(data)
    assert series["submitter"]["name"] == "cocci-bot (kvm-refcounted-pfn campaign)"
    assert series["submitter"]["email"].endswith("@cocci-bot.invalid")
    assert series["approved_by"] is None
    posted = "".join((data / "runs" / "1" / "series").joinpath(p).read_text()
                     for p in sorted((data / "runs" / "1" / "series").iterdir()))
    assert "Signed-off-by:" not in posted
    # a maintainer account without name and e-mail cannot accept: the API says why
    token = subprocess.run([*BOT, "serve", "--create-token", "maintainer", "nomail",
                            "--data-dir", str(data)], check=True, capture_output=True,
                           text=True, timeout=120).stdout.split()[-1]
    with embedded_queue(data) as url:
        rsp = requests.post(f"{url}/api/cocci/series/{series['id']}/state/", timeout=30,
                            json={"state": "accepted"}, headers=auth(token))
    assert rsp.status_code == 400
    assert "cocci-bot serve --create-token maintainer nomail --email" in rsp.json()["detail"]
    assert run(cfg, data) == 0
    assert run_json(data)["stages"]["drafts"]["status"] == "WAITING"
    # alice (with a name and an e-mail) accepts: the next run drafts, signed off by her
    accept(data, series["id"])
    assert run(cfg, data) == 0
    state = run_json(data)
    assert state["stages"]["drafts"]["status"] == "PASS"
    assert state["stages"]["drafts"]["signed_off_by"] == ALICE
    drafts = sorted((data / "runs" / "1" / "drafts").glob("*.patch"))
    assert len(drafts) == 3
    mails = [email.message_from_string(d.read_text(), policy=default_policy) for d in drafts]
    assert {str(m["From"]) for m in mails} == {ALICE}
    for d in drafts[1:]:
        message = d.read_text().split("\n---\n", 1)[0].rstrip()
        assert message.endswith(f"Signed-off-by: {ALICE}"), message
        assert message.count("Signed-off-by:") == 1
    assert "cocci-bot.invalid" not in "".join(d.read_text() for d in drafts)
    [series] = queue_series(data)
    assert series["approved_by"]["username"] == "alice"
    assert (series["approved_by"]["name"], series["approved_by"]["email"]) == MAINTAINER
