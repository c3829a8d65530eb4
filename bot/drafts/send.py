"""`git send-email` on the drafts: a dry run the bot checks, and a real send, once.

A send is only ever made when bot.toml says `[mail] send = true`.  It goes to the addresses the
drafts carry (their To/Cc headers; Cc from trailers, the author or cc-cmd is suppressed), with
the Message-IDs and threading the drafts already have (format-patch --thread; send-email
--no-thread adds none of its own).  One git send-email per message, so that the kill switch is
asked before each one.  Never twice: the data dir's ledger (bot.drafts.ledger) records each
message's intent before git send-email starts and its result after; a message begun and not
finished (the bot was killed mid-send) is not sent again, and no Message-ID or patch (by
`git patch-id --stable`) that any earlier send carried goes out again, whatever the version
or run.  RUN_DIR/mail.json is the series' record: the Message-IDs, recipients, which went out.
The SMTP password comes from the environment variable [mail] password_env, handed to git through
GIT_CONFIG_* variables, never on a command line.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from bot import defaults, jsonfile, proc
from bot.drafts.ledger import Ledger
from bot.errors import InfraError, UserError
from bot.review.patchid import patch_id

MAIL_JSON = "mail.json"
MAIL_SCHEMA = 2    # 1: one git send-email for the whole series
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


def _argv(files: list[Path], extra: list[str]) -> list[str]:
    """send-email's argv; the sender is in `extra`, else the drafts' own From."""
    sender = [] if any(a.startswith("--from=") for a in extra) else \
        [f"--from={header(files[0], 'From') or ''}"]
    return ["git", "send-email", "--confirm=never", "--no-thread", "--8bit-encoding=UTF-8",
            *(f"--suppress-cc={s}" for s in SUPPRESS_CC), *sender, *extra,
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


def send_once(run_dir: Path, files: list[Path], mail: Any, ledger: Ledger, *,
              stop: Callable[[], str | None] = lambda: None,
              reply_to: str | None = None) -> dict[str, Any]:
    """Send the drafts one message at a time, each at most once, ever; mail.json says what
    happened.  Before every message `stop()` is asked (the kill switch: a reason stops the
    send, state "held", resumed by a later call) and the ledger is asked whether this
    Message-ID or this patch (patch-id) went out before (then nothing is sent: state "loop").
    A message whose send was begun and not finished (the bot was killed) is never sent again
    and ends the send (state "uncertain").  Raises InfraError when the server refused a
    message (nothing of it went out): a later call resumes with that message."""
    record_path = run_dir / MAIL_JSON
    record = _read(record_path)
    if record is not None and record.get("schema") == 1 and record["state"] == "sending":
        return {**record, "why": _interrupted(record)}   # a send of the whole-series era
    if record is not None and record["state"] in ("sent", "partial"):
        return record
    ids = [message_id(f) or "" for f in files]
    pids = [patch_id_of(f) for f in files]
    record = {"schema": MAIL_SCHEMA, "state": "sending", "started": time.time(),
              "message_ids": ids, "to": addresses(files), "server": f"{mail.host}:{mail.port}",
              "sent": []}
    conflict = loop(ledger, run_dir, files)
    if conflict is not None:
        return conflict
    argv, env = smtp_args(mail)
    sender = getattr(mail, "from_", None) or header(files[0], "From") or ""
    if reply_to:
        argv.append(f"--reply-to={reply_to}")
    for f, mid, pid in zip(files, ids, pids, strict=True):
        done = ledger.find(mid, pid)
        if done is not None and done.state == "sent":
            record["sent"].append(mid)
            continue
        if done is not None:
            return _end(record_path, record, "uncertain", _interrupted(
                {"started": done.started, "message_ids": [mid]}))
        why = stop()
        if why is not None:
            return {**_save(record_path, record), "state": "held", "why": why}
        _send_one(record_path, record, f, (mid, pid), argv + [f"--from={sender}"], env, ledger,
                  run_dir)
    return _end(record_path, record, "sent", None)


def loop(ledger: Ledger, run_dir: Path, files: list[Path]) -> dict[str, Any] | None:
    """Loop detection before the first message: a Message-ID or a patch (patch-id) of this
    series that another send already carried (state "loop", and why)."""
    ids = [message_id(f) or "" for f in files]
    for f, mid in zip(files, ids, strict=True):
        pid = patch_id_of(f)
        seen = ledger.find(mid, pid)
        if seen is None or (seen.message_id == mid and seen.run_dir == str(run_dir)):
            continue
        what = (f"Message-ID {mid}" if seen.message_id == mid
                else f"{header(f, 'Subject') or f.name} (patch-id {pid[:12]})")
        return {"schema": MAIL_SCHEMA, "state": "loop", "message_ids": ids, "sent": [],
                "why": f"loop: {what} was already mailed as {seen.message_id} at {seen.when} "
                       f"(from {seen.run_dir}): nothing is sent twice"}
    return None


def _send_one(record_path: Path, record: dict[str, Any], f: Path, ids: tuple[str, str],
              argv: list[str], env: dict[str, str], ledger: Ledger, run_dir: Path) -> None:
    mid, pid = ids
    ledger.begin(mid, pid, header(f, "Subject") or "", addresses([f]), run_dir)
    _save(record_path, record)
    res = proc.run(_argv([f], argv), cwd=f.parent, env=env,
                   timeout=defaults.TIMEOUT_SEND_EMAIL, check=False)
    if _SENT.search(res.stdout):
        ledger.done(mid)
        record["sent"].append(mid)
        _save(record_path, record)
        return
    ledger.forget(mid)
    if not record["sent"]:
        record_path.unlink()   # nothing went out: the drafts may still be rewritten
    raise InfraError(f"git send-email to {record['server']} did not send {f.name} "
                     f"(exit {res.returncode}): {res.tail()}; {len(record['sent'])} of "
                     f"{len(record['message_ids'])} mails went out, the rest go on the next try")


def _end(record_path: Path, record: dict[str, Any], state: str, why: str | None
         ) -> dict[str, Any]:
    record |= {"state": state, "finished": time.time()}
    if why:
        record["why"] = why
    return _save(record_path, record)


def _save(record_path: Path, record: dict[str, Any]) -> dict[str, Any]:
    jsonfile.write(record_path, record)
    return record


def _interrupted(record: dict[str, Any]) -> str:
    return ("a send of " + record["message_ids"][0] + " began at "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(record['started']))} UTC "
            "and its end was not recorded (the bot was stopped): not sent again; check "
            "the list archive for it and send the rest by hand")


def patch_id_of(mail: Path) -> str:
    """`git patch-id --stable` of the patch a mail carries; '' for a cover letter."""
    text = mail.read_text(errors="replace")
    if "\ndiff --git " not in text:
        return ""
    return patch_id(text, mail.name)


def summary(record: dict[str, Any], files: list[Path]) -> str:
    """The review queue's comment on a send (mail.json's record): the mails that went out, by
    Message-ID and subject in order, to whom, when; for a partial send, what did not."""
    ids: list[str] = record.get("sent") or (record["message_ids"] if record["state"] == "sent"
                                             else [])
    subjects = dict(zip(record["message_ids"], (header(f, "Subject") or "" for f in files),
                        strict=False))
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC",
                         time.gmtime(record.get("finished", record["started"])))
    server = record.get("server", "the SMTP server")
    if record["state"] == "sent" and len(ids) == len(record["message_ids"]):
        head = f"Sent {len(ids)} mails with git send-email through {server} at {when}."
    else:
        head = (f"Only {len(ids)} of {len(record['message_ids'])} mails went out through "
                f"{server} at {when}: {record.get('why', '')}")
    return "\n".join([head, "", "Recipients (To/Cc): " + ", ".join(record["to"]), "",
                      "Message-IDs:",
                      *(f"{mid}  {subjects.get(mid, '')}".rstrip() for mid in ids)]) + "\n"


def timing(run_dir: Path) -> dict[str, Any]:
    """started, finished and server of the series' send (mail.json), for summary()."""
    record = _read(run_dir / MAIL_JSON) or {}
    return {k: record[k] for k in ("started", "finished", "server") if k in record} or \
        {"started": time.time()}


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
