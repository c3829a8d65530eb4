"""git send-email on drafts, against a real SMTP server on loopback (aiosmtpd): the dry run, one
send whose mails parse back into the same patches (same patch-ids) and threads, never twice."""

from __future__ import annotations

import email
import subprocess
from email.policy import default as default_policy
from pathlib import Path

import pytest
from bot_setup import free_port, git

from bot.drafts import send
from bot.errors import InfraError, UserError
from bot.pipeline.config import Mail


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
    return Mail(send=True, host="127.0.0.1", port=port, tls="none", **kw)


def test_dry_run_then_one_send_that_parses_back_threaded(smtp, drafts, tmp_path):
    port, inbox = smtp
    check = send.dry_run(drafts)
    assert check["ok"] and check["mails"] == 3, check
    assert check["to"] == ["m@example.org", "list@example.org"]
    assert inbox.messages == []   # a dry run sends nothing
    run_dir = tmp_path / "run"
    record = send.send_once(run_dir, drafts, mail_cfg(port))
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
    again = send.send_once(run_dir, drafts, mail_cfg(port))
    assert again["state"] == "sent" and len(inbox.messages) == 3


def test_a_send_begun_by_a_killed_bot_is_not_made_again(smtp, drafts, tmp_path):
    port, inbox = smtp
    run_dir = tmp_path / "run"
    # what a bot killed inside git send-email leaves: the intent, no result
    (run_dir / send.MAIL_JSON).write_text('{"schema": 1, "state": "sending", "started": 0, '
                                          '"message_ids": ["<a@b>"], "to": []}')
    record = send.send_once(run_dir, drafts, mail_cfg(port))
    assert record["state"] == "sending" and "not sent again" in record["why"]
    assert inbox.messages == []


def test_an_unreachable_server_sends_nothing_and_may_be_retried(drafts, tmp_path):
    with pytest.raises(InfraError, match="sent nothing"):
        send.send_once(tmp_path / "run", drafts, mail_cfg(free_port()))
    assert not (tmp_path / "run" / send.MAIL_JSON).exists()


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
