"""`git send-email` on the drafts: a dry run the bot checks, and a real send, once.

A send is only ever made when bot.toml says `[mail] send = true`.  It goes to the addresses the
drafts carry (their To/Cc headers; Cc from trailers, the author or cc-cmd is suppressed), with
the Message-IDs and threading the drafts already have (format-patch --thread; send-email
--no-thread adds none of its own).  Never twice: RUN_DIR/mail.json records the intent
(state "sending", the Message-IDs) before git send-email starts and the result after; a run
that finds "sending" (the bot was killed mid-send) does not send again and says so.  The SMTP
password comes from the environment variable [mail] password_env, handed to git through
GIT_CONFIG_* variables, never on a command line.
"""

from __future__ import annotations

import json
import os
import re
import time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from bot import defaults, jsonfile, proc
from bot.errors import InfraError, UserError

MAIL_JSON = "mail.json"
MAIL_SCHEMA = 1
SUPPRESS_CC = ("author", "self", "body", "cccmd")
TLS = {"starttls": "tls", "ssl": "ssl"}
_SENT = re.compile(r"^(?:Dry-)?(?:OK|Sent)\b", re.M)


def header(mail: Path, name: str) -> str | None:
    with mail.open("rb") as fh:
        msg = BytesHeaderParser(policy=default_policy).parse(fh)
    value = msg.get(name)
    return str(value).strip() if value is not None else None


def message_id(mail: Path) -> str | None:
    return header(mail, "Message-ID")


def addresses(files: list[Path]) -> list[str]:
    """Every To/Cc address the drafts carry, once each."""
    seen: list[str] = []
    for f in files:
        for name in ("To", "Cc"):
            for _real, addr in getaddresses([header(f, name) or ""]):
                if addr and addr not in seen:
                    seen.append(addr)
    return seen


def _argv(files: list[Path], extra: list[str], sender: str | None = None) -> list[str]:
    """send-email's argv; the sender is [mail] from, else the drafts' own From."""
    sender = sender or header(files[0], "From") or ""
    return ["git", "send-email", "--confirm=never", "--no-thread", "--8bit-encoding=UTF-8",
            *(f"--suppress-cc={s}" for s in SUPPRESS_CC), f"--from={sender}", *extra,
            "--no-format-patch", *map(str, files)]


def dry_run(files: list[Path]) -> dict[str, Any]:
    """`git send-email --dry-run` on the drafts: {"ok", "detail", "mails", "to"}."""
    to = addresses(files)
    if not files:
        return {"ok": False, "detail": "no drafts", "mails": 0, "to": []}
    if not to:
        return {"ok": False, "mails": 0, "to": [],
                "detail": "the drafts carry no To/Cc (the tree has no MAINTAINERS entry for "
                          "them): add recipients by hand before sending"}
    res = proc.run(_argv(files, ["--dry-run"]), cwd=files[0].parent,
                   timeout=defaults.TIMEOUT_SEND_EMAIL, check=False)
    sent = len(_SENT.findall(res.stdout))
    ok = res.ok and sent == len(files)
    detail = (f"{sent} mails would go to {', '.join(to)}" if ok
              else f"exit {res.returncode}: {res.tail()}")
    return {"ok": ok, "detail": detail, "mails": sent, "to": to}


def send_once(run_dir: Path, files: list[Path], mail: Any) -> dict[str, Any]:
    """Send the drafts unless a send of them was already begun; mail.json says what happened.
    Raises InfraError when nothing went out (the server refused or was unreachable): the
    caller may try again later."""
    record_path = run_dir / MAIL_JSON
    record = _read(record_path)
    if record is not None:
        if record["state"] == "sending":
            return {**record, "why": "a send of these drafts began at "
                    f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(record['started']))} UTC "
                    "and its end was not recorded (the bot was stopped): not sent again; check "
                    f"the list archive for {record['message_ids'][0]}"}
        return record
    argv, env = smtp_args(mail)
    ids = [message_id(f) or "" for f in files]
    to = addresses(files)
    record = {"schema": MAIL_SCHEMA, "state": "sending", "started": time.time(),
              "message_ids": ids, "to": to, "server": f"{mail.host}:{mail.port}"}
    jsonfile.write(record_path, record)
    res = proc.run(_argv(files, argv, getattr(mail, "from_", None)), cwd=files[0].parent, env=env,
                   timeout=defaults.TIMEOUT_SEND_EMAIL, check=False)
    sent = len(_SENT.findall(res.stdout))
    if res.ok and sent == len(files):
        record |= {"state": "sent", "finished": time.time()}
        jsonfile.write(record_path, record)
        return record
    if sent == 0:
        record_path.unlink()
        raise InfraError(f"git send-email to {mail.host}:{mail.port} sent nothing "
                         f"(exit {res.returncode}): {res.tail()}")
    record |= {"state": "partial", "finished": time.time(), "sent": ids[:sent],
               "why": f"only {sent} of {len(files)} mails went out (exit {res.returncode}: "
                      f"{res.tail()}): not sent again; send the rest by hand"}
    jsonfile.write(record_path, record)
    return record


def summary(record: dict[str, Any], files: list[Path]) -> str:
    """The review queue's comment on a send (mail.json's record): the mails that went out, by
    Message-ID and subject in order, to whom, when; for a partial send, what did not."""
    ids: list[str] = record.get("sent", record["message_ids"])
    subjects = dict(zip(record["message_ids"], (header(f, "Subject") or "" for f in files),
                        strict=False))
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC",
                         time.gmtime(record.get("finished", record["started"])))
    server = record.get("server", "the SMTP server")
    if record["state"] == "sent":
        head = f"Sent {len(ids)} mails with git send-email through {server} at {when}."
    else:
        head = (f"Only {len(ids)} of {len(record['message_ids'])} mails went out through "
                f"{server} at {when}: {record.get('why', '')}")
    return "\n".join([head, "", "Recipients (To/Cc): " + ", ".join(record["to"]), "",
                      "Message-IDs:",
                      *(f"{mid}  {subjects.get(mid, '')}".rstrip() for mid in ids)]) + "\n"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return data


def smtp_args(mail: Any) -> tuple[list[str], dict[str, str]]:
    """send-email's SMTP options from [mail]; the password through the environment."""
    argv = [f"--smtp-server={mail.host}", f"--smtp-server-port={mail.port}"]
    if mail.tls in TLS:
        argv.append(f"--smtp-encryption={TLS[mail.tls]}")
    env: dict[str, str] = {}
    if mail.user:
        argv.append(f"--smtp-user={mail.user}")
        if mail.password_env:
            password = os.environ.get(mail.password_env)
            if not password:
                raise UserError(f"[mail] password_env = {mail.password_env!r} but that "
                                "variable is not set: export it for the bot")
            env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "sendemail.smtpPass",
                   "GIT_CONFIG_VALUE_0": password}
    return argv, env
