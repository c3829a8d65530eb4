"""Parsing `git format-patch` output: one mail per file, split into headers, message and diff."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import unidiff

from bot.errors import UserError

_PREFIXES = re.compile(r"^\s*\[([^\]]*)\]\s*")
_DIFF_START = re.compile(r"^(diff --git |--- |Index: )", re.MULTILINE)
_SIGNATURE = re.compile(r"^-- \n.*\Z", re.MULTILINE | re.DOTALL)
_NUMBER = re.compile(r"^(\d+)/(\d+)$")
_VERSION = re.compile(r"^v(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    subject: str
    name: str              # subject with the [PATCH ...] prefix cleaned, as Patchwork shows it
    prefixes: tuple[str, ...]
    number: int | None
    total: int | None
    from_name: str
    from_email: str
    date: datetime
    msgid: str | None
    headers: str
    content: str           # the message (commit log, diffstat)
    diff: str              # empty for a cover letter
    raw: str


def parse(raw: str, what: str) -> Mail:
    """Parse one format-patch mail; `what` names it in errors ("patch 2")."""
    if not raw.startswith("From "):
        raise UserError(f"{what} is not an mbox message: expected `git format-patch` output "
                        "starting with a 'From <sha>' line")
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    subject = _header(msg, "Subject", what)
    from_name, from_email = email.utils.parseaddr(_header(msg, "From", what))
    if "@" not in from_email:
        raise UserError(f"{what}: From: header has no e-mail address")
    body = _body(msg, what)
    prefixes, rest = _prefixes(subject)
    number, total = _numbering(prefixes)
    content, diff = split_diff(body)
    return Mail(
        subject=subject, name=_name(prefixes, rest, what), prefixes=prefixes,
        number=number, total=total, from_name=from_name, from_email=from_email.lower(),
        date=_date(msg), msgid=_msgid(msg), headers=_headers_text(raw), content=content,
        diff=diff, raw=raw,
    )


def _header(msg: email.message.Message, name: str, what: str) -> str:
    value = msg.get(name)
    if not value:
        raise UserError(f"{what} has no {name}: header (is it `git format-patch` output?)")
    return " ".join(str(email.header.make_header(email.header.decode_header(value))).split())


def _body(msg: email.message.Message, what: str) -> str:
    if msg.is_multipart():
        raise UserError(f"{what} is a multipart mail: post plain `git format-patch` output")
    payload = msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise UserError(f"{what} has no body")
    charset = msg.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError as exc:
        raise UserError(f"{what}: unknown charset {charset!r}") from exc


def _prefixes(subject: str) -> tuple[tuple[str, ...], str]:
    prefixes: list[str] = []
    rest = subject
    while m := _PREFIXES.match(rest):
        prefixes += [p for p in re.split(r"[\s,]+", m.group(1)) if p]
        rest = rest[m.end():]
    return tuple(p for p in prefixes if p.upper() != "PATCH"), rest.strip()


def _numbering(prefixes: tuple[str, ...]) -> tuple[int | None, int | None]:
    for p in prefixes:
        if m := _NUMBER.match(p):
            return int(m.group(1)), int(m.group(2))
    return None, None


def version_of(prefixes: tuple[str, ...]) -> int | None:
    for p in prefixes:
        if m := _VERSION.match(p):
            return int(m.group(1))
    return None


def _name(prefixes: tuple[str, ...], rest: str, what: str) -> str:
    if not rest:
        raise UserError(f"{what} has an empty subject")
    name = f"[{','.join(prefixes)}] {rest}" if prefixes else rest
    return name[:255]


def _date(msg: email.message.Message) -> datetime:
    value = msg.get("Date")
    try:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _msgid(msg: email.message.Message) -> str | None:
    value = (msg.get("Message-Id") or "").strip()
    if not value:
        return None
    return value if value.startswith("<") else f"<{value}>"


def _headers_text(raw: str) -> str:
    head = raw.split("\n\n", 1)[0]
    return "\n".join(head.splitlines()[1:])  # without the mbox 'From ' line


def split_diff(body: str) -> tuple[str, str]:
    """(message, diff): the diff starts at the first `diff --git`/`---`/`Index:` line;
    format-patch's signature (`-- ` and the git version) is dropped from the diff."""
    m = _DIFF_START.search(body)
    while m and m.group(1) == "--- " and not body[m.end():].split("\n", 1)[-1].startswith("+++ "):
        m = _DIFF_START.search(body, m.end())
    if m is None:
        return body.strip("\n") + "\n", ""
    diff = _SIGNATURE.sub("", body[m.start():])
    return body[:m.start()].rstrip("\n") + "\n", diff


def check_diff(diff: str, what: str) -> list[str]:
    """Parse the diff; return the files it touches or raise a UserError naming the problem."""
    try:
        patchset = unidiff.PatchSet(diff)
    except unidiff.UnidiffParseError as exc:
        raise UserError(f"{what}: the diff does not parse: {exc}") from exc
    if len(patchset) == 0:
        raise UserError(f"{what}: no diff found (expected `diff --git` hunks after the message)")
    return [f.path for f in patchset]
