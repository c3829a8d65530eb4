"""git send-email on drafts, against a real SMTP server on loopback (aiosmtpd): the dry run, one
send whose mails parse back into the same patches (same patch-ids) and threads, never twice;
the mail stage's record of it on the series in a real review queue (Django's live server)."""

from __future__ import annotations

import email
import subprocess
from email.policy import default as default_policy
from pathlib import Path

import pytest
import requests
from bot_setup import free_port, git

from bot.drafts import send
from bot.drafts.ledger import Ledger
from bot.errors import InfraError, UserError
from bot.pipeline.config import Config, Mail, MailList, Tree
from bot.status import Status


@pytest.fixture
def drafts(tmp_path: Path) -> list[Path]:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True)
    for i in range(3):
        (repo / "f.c").write_text("".join(f"int x{j};\n" for j in range(i + 1)))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"f: add x{i}")
    out = tmp_path / "run" / "drafts"
    git(repo, "format-patch", "-q", "--cover-letter", "--thread", "--to=Maint <m@example.org>",
        "--cc=list@example.org", "--in-reply-to=<v1-cover@example.org>", "-o", str(out),
        "HEAD~2")
    cover = out / "0000-cover-letter.patch"
    cover.write_text(cover.read_text().replace("*** SUBJECT HERE ***", "f: more x")
                     .replace("*** BLURB HERE ***", "Two more."))
    return sorted(out.glob("*.patch"))


def patch_id(text: str | bytes) -> str:
    data = text if isinstance(text, str) else text.decode()
    out = subprocess.run(["git", "patch-id", "--stable"], input=data, capture_output=True,
                         text=True, check=True).stdout
    return out.split()[0] if out else ""


def mail_cfg(port: int, **kw) -> Mail:
    """Sending to 127.0.0.1:port, to anyone @example.org, at once (no embargo)."""
    kw.setdefault("lists", (MailList(address="*@example.org", embargo_hours=0),))
    return Mail(send=True, host="127.0.0.1", port=port, tls="none", **kw)


def test_dry_run_then_one_send_that_parses_back_threaded(smtp, drafts, tmp_path):
    port, inbox = smtp
    check = send.dry_run(drafts)
    assert check["ok"] and check["mails"] == 3, check
    assert check["to"] == ["m@example.org", "list@example.org"]
    assert inbox.messages == []   # a dry run sends nothing
    run_dir = tmp_path / "run"
    ledger = Ledger(tmp_path / "data")
    record = send.send_once(run_dir, drafts, mail_cfg(port), ledger)
    assert record["state"] == "sent"
    assert len(inbox.messages) == 3
    got = [email.message_from_bytes(m[2], policy=default_policy) for m in inbox.messages]
    assert [str(m["Message-ID"]) for m in got] == record["message_ids"] \
        == [send.message_id(d) for d in drafts]
    assert all(set(m[1]) == {"m@example.org", "list@example.org"} for m in inbox.messages)
    # the cover answers the previous version; the patches answer the cover
    assert str(got[0]["In-Reply-To"]) == "<v1-cover@example.org>"
    assert all(str(m["In-Reply-To"]) == record["message_ids"][0] for m in got[1:])
    # what arrived is the same patches
    assert [patch_id(m[2]) for m in inbox.messages[1:]] == \
        [patch_id(d.read_text()) for d in drafts[1:]]
    assert all(patch_id(d.read_text()) for d in drafts[1:])
    # never twice
    again = send.send_once(run_dir, drafts, mail_cfg(port), ledger)
    assert again["state"] == "sent" and len(inbox.messages) == 3


def test_a_send_begun_by_a_killed_bot_is_not_made_again(smtp, drafts, tmp_path):
    port, inbox = smtp
    run_dir = tmp_path / "run"
    # what a bot killed inside git send-email leaves: the intent, no result
    (run_dir / send.MAIL_JSON).write_text('{"schema": 1, "state": "sending", "started": 0, '
                                          '"message_ids": ["<a@b>"], "to": []}')
    record = send.send_once(run_dir, drafts, mail_cfg(port), Ledger(tmp_path / "data"))
    assert record["state"] == "sending" and "not sent again" in record["why"]
    assert inbox.messages == []


def test_an_unreachable_server_sends_nothing_and_may_be_retried(drafts, tmp_path):
    ledger = Ledger(tmp_path / "data")
    with pytest.raises(InfraError, match="did not send 0000-cover-letter.patch"):
        send.send_once(tmp_path / "run", drafts, mail_cfg(free_port()), ledger)
    assert not (tmp_path / "run" / send.MAIL_JSON).exists()
    assert ledger.since(0) == []   # nothing counted against the budgets, nothing blocked


def test_password_comes_from_the_environment_only(monkeypatch):
    monkeypatch.delenv("SMTP_PW", raising=False)
    with pytest.raises(UserError, match="password_env = 'SMTP_PW'"):
        send.smtp_args(mail_cfg(25, user="bot", password_env="SMTP_PW"))
    monkeypatch.setenv("SMTP_PW", "s3cret")
    argv, env = send.smtp_args(mail_cfg(25, user="bot", password_env="SMTP_PW"))
    assert "s3cret" not in " ".join(argv) and env["GIT_CONFIG_VALUE_0"] == "s3cret"


def test_drafts_without_recipients_fail_the_dry_run(drafts):
    for d in drafts:
        d.write_text("".join(line for line in d.read_text().splitlines(keepends=True)
                             if not line.startswith(("To:", "Cc:"))))
    check = send.dry_run(drafts)
    assert not check["ok"] and "carry no To/Cc" in check["detail"]


def _post_drafts(url: str, token: str, repo: Path, drafts: list[Path]) -> dict:
    """The drafts posted to the queue as the series a maintainer accepted."""
    from bot.post.client import QueueClient

    base = git(repo, "rev-parse", "HEAD~2").strip()
    series, created = QueueClient(url, token).post_series({
        "project": "small-linux", "cover": drafts[0].read_text(),
        "patches": [d.read_text() for d in drafts[1:]],
        "report": {"campaign": "mail-test", "base": base, "steps": [], "sites": []}})
    assert created
    accept_as_maintainer(url, series["id"])
    return series


def queue_with_project(live_server) -> tuple[str, str]:
    """The live queue with project small-linux: (url, a bot token)."""
    from bot.review.auth import create_token
    from bot.review.models import Project

    Project.objects.create(link_name="small-linux", name="small-linux",
                           list_id="small-linux.cocci-bot", list_email="l@cocci-bot.invalid")
    return live_server.url, create_token("bot", "cocci")


def accept_as_maintainer(url: str, series_id: int) -> None:
    """A maintainer with a name and an e-mail (whom the drafts are signed off by) accepts."""
    from bot_setup import MAINTAINER, set_state

    from bot.review.auth import create_token

    set_state(url, create_token("maintainer", "alice", person=MAINTAINER), series_id)


def _mail_stage(url: str, token: str, run_dir: Path, series_id: int, drafts: list[Path],
                port: int):
    """The pipeline's mail stage for a job whose series is posted and drafts written."""
    from bot.pipeline.record import RunRecord
    from bot.pipeline.run import Context, stage_mail
    from bot.pipeline.store import Job
    from bot.pipeline.watch import TreeRelease as Release

    tree = Tree(name="small-linux", source="git", path=run_dir.parent / "repo")
    job = Job(1, "mail-test-key", tree.name, "v1", "0" * 40, "mail-test", Status.RUNNING,
              run_dir, None)
    ctx = Context(job, Release(tree, run_dir.parent / "repo", "v1", "0" * 40), "mail-test",
                  Config(tree=(tree,), mail=mail_cfg(port)), run_dir.parent / "data",
                  lambda: (url, token))
    rec = RunRecord(job=1, tree=tree.name, tag="v1", base="0" * 40, repo=str(tree.path),
                    campaign="mail-test", stages={
                        "post": {"status": Status.PASS, "series_id": series_id},
                        "drafts": {"status": Status.PASS,
                                   "send_email_dry_run": send.dry_run(drafts)}})
    return stage_mail(ctx, rec)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_mail_stage_comments_the_sent_message_ids_on_the_series(smtp, drafts, tmp_path,
                                                                     live_server):
    port, inbox = smtp
    url, token = queue_with_project(live_server)
    series = _post_drafts(url, token, tmp_path / "repo", drafts)
    result = _mail_stage(url, token, tmp_path / "run", series["id"], drafts, port)
    assert result["status"] is Status.PASS and len(inbox.messages) == 3, result
    arrived = [str(email.message_from_bytes(m[2], policy=default_policy)["Message-ID"])
               for m in inbox.messages]
    # Patchwork's way to a series' comments (git-pw): its cover letter's comments
    cover = requests.get(series["cover_letter"]["url"], timeout=30).json()
    comments = requests.get(cover["comments"], timeout=30).json()
    assert len(comments) == 1 and comments[0]["submitter"]["name"] == "cocci"
    text = comments[0]["content"]
    assert text.startswith("Sent 3 mails with git send-email through 127.0.0.1:")
    assert all(f"\n{mid}  " in text for mid in arrived), text
    assert "Recipients (To/Cc): m@example.org, list@example.org" in text
    assert "[PATCH 2/2] f: add x2" in text
    page = requests.get(series["web_url"], timeout=30).text
    assert all(mid.replace("<", "&lt;").replace(">", "&gt;") in page for mid in arrived)
    checks = requests.get(f"{url}/api/1.2/series/{series['id']}/checks/", timeout=30).json()
    assert [(c["context"], c["state"]) for c in checks] == [("mail", "success")]
    # a retried stage (the queue was down after the send): nothing sent or recorded twice
    again = _mail_stage(url, token, tmp_path / "run", series["id"], drafts, port)
    assert again["status"] is Status.PASS and len(inbox.messages) == 3
    assert len(requests.get(cover["comments"], timeout=30).json()) == 1
    assert len(requests.get(f"{url}/api/1.2/series/{series['id']}/checks/",
                            timeout=30).json()) == 1
