"""The bot that watches, regenerates and mails, on a real Debian 5.10 tree behind a file://
"upstream": the first poll runs the newest tag; a new tag makes v2 with a real range-diff and
the site delta, v1 becomes Superseded; accepting v2 yields drafts threaded to v1 that pass
`git send-email --dry-run`; with [mail] configured they reach a loopback SMTP server once."""

from __future__ import annotations

import email
import html
import re
import subprocess
from email.policy import default as default_policy
from pathlib import Path

import pytest
import requests
from bot_setup import (
    MAINTAINER,
    auth,
    bot_toml,
    embedded_queue,
    git,
    maintainer_token,
    run_json,
    set_state,
)
from bot_setup import run as bot_run


@pytest.fixture
def upstream(tmp_path: Path, debian_mirror: Path) -> Path:
    """A bare "upstream" (hard-linked clone of the Debian mirror) whose only tag is v5.10.46."""
    repo = tmp_path / "upstream.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(debian_mirror), str(repo)], check=True)
    git(repo, "tag", "-d", "v5.10.223", "v6.1.176")
    return repo


def run(cfg: Path, data: Path) -> int:
    return bot_run(cfg, data, "--no-build", "--no-boot")


def patch_id(text: str) -> str:
    return subprocess.run(["git", "patch-id", "--stable"], input=text, text=True,
                          capture_output=True, check=True).stdout.split()[0]


def test_watch_regenerate_and_mail(tmp_path: Path, upstream: Path, debian_mirror: Path, smtp):
    port, inbox = smtp
    data = tmp_path / "data"
    cfg = bot_toml(tmp_path / "bot.toml", url=f"file://{upstream}", name="linux-stable",
                   mail_port=port)
    # first poll: the newest (only) tag runs, v1 is posted
    assert run(cfg, data) == 0
    v1 = run_json(data, 1)
    assert v1["tag"] == "v5.10.46" and v1["stages"]["post"]["version"] == 1
    # a new tag upstream: the next poll fetches it and posts v2
    git(upstream, "tag", "v5.10.223", git(debian_mirror, "rev-parse", "v5.10.223^{commit}"))
    assert run(cfg, data) == 0
    v2 = run_json(data, 2)
    post = v2["stages"]["post"]
    assert v2["tag"] == "v5.10.223" and post["version"] == 2
    assert post["previous_series_id"] == v1["stages"]["post"]["series_id"]
    assert post["range_diff"] is True
    assert sum(post["site_delta"].values()) > 0, post   # 5.10.223 has call sites 5.10.46 lacks
    token = maintainer_token(data)
    with embedded_queue(data) as url:
        s1 = requests.get(f"{url}/api/1.2/series/{post['previous_series_id']}/", timeout=30,
                          headers=auth(token)).json()
        s2 = requests.get(f"{url}/api/1.2/series/{post['series_id']}/", timeout=30,
                          headers=auth(token)).json()
        assert s1["state"] == "superseded" and s2["previous"]["id"] == s1["id"]
        assert set(s2["site_delta"]) == {"appeared", "vanished", "changed"}
        assert sum(len(v) for v in s2["site_delta"].values()) == sum(post["site_delta"].values())
        page = requests.get(s2["web_url"], timeout=30, headers=auth(token)).text
        set_state(url, token, s2["id"], "accepted")
    assert inbox.messages == []   # nothing is mailed before a maintainer accepts
    # accepted: drafts threaded to v1's cover, with the range-diff, checked by send-email,
    # then sent (mail is configured) to the loopback server
    assert run(cfg, data) == 0
    st = run_json(data, 2)
    drafts, mail = st["stages"]["drafts"], st["stages"]["mail"]
    assert drafts["status"] == "PASS" and drafts["send_email_dry_run"]["ok"], drafts
    assert drafts["in_reply_to"] == v1["stages"]["post"]["cover_message_id"]
    files = sorted((data / "runs" / "2" / "drafts").glob("*.patch"))
    # 5.10.223's series is one patch (step 3 is skipped there): no cover letter, so the
    # changes since v1 and the range-diff are below its `---`
    assert len(files) == 1
    cover = files[0].read_text()
    assert re.search(r"^Subject: \[[^\]]*\bv2\b[^\]]*\] KVM", cover, re.M), cover[:600]
    assert "Changes since v1" in cover.split("\n---\n", 1)[1]
    assert "Range-diff against v1:" in cover
    assert mail["status"] == "PASS" and len(inbox.messages) == len(files), mail
    got = [email.message_from_bytes(m[2], policy=default_policy) for m in inbox.messages]
    assert [str(m["Message-ID"]) for m in got] == mail["message_ids"]
    assert str(got[0]["In-Reply-To"]) == v1["stages"]["post"]["cover_message_id"]
    assert all(str(m["In-Reply-To"]) == mail["message_ids"][0] for m in got[1:])
    assert [patch_id(m[2].decode()) for m in inbox.messages[1:]] == \
        [patch_id(f.read_text()) for f in files[1:]]
    # sent by, authored by and signed off by the maintainer who accepted (the bot authored
    # the posted series at an .invalid address: none of it goes out)
    alice = f"{MAINTAINER[0]} <{MAINTAINER[1]}>"
    assert {str(m["From"]) for m in got} == {alice}
    assert {m[0] for m in inbox.messages} == {MAINTAINER[1]}
    for m in got[1:] or got:
        body = m.get_body().get_content().replace("\r\n", "\n").split("\n---\n", 1)[0]
        body = body.rstrip()
        assert body.endswith(f"Signed-off-by: {alice}") and body.count("Signed-off-by:") == 1
    # (v1's cover, which v2 answers, was made by the bot: its Message-ID may name the bot's
    # domain, but no address or name of the bot is in any mail)
    assert not any(b"<kvm-refcounted-pfn@cocci-bot.invalid>" in m[2]
                   or b"cocci-bot (kvm-refcounted-pfn campaign)" in m[2] for m in inbox.messages)
    # once: a further run sends nothing
    assert run(cfg, data) == 0
    assert len(inbox.messages) == len(files)
    # the queue's series page shows the bot's range-diff: the same pairs as the drafts' (their
    # commits differ only by the approver's sign-off, so compare a line without its shas)
    rdiff_line = next(ln for ln in cover.splitlines() if ln.startswith("1:  "))
    marker, subject = rdiff_line.split(None, 5)[2], rdiff_line.split(None, 5)[5]
    assert marker in "=!" and html.escape(subject) in page, (rdiff_line, page)
