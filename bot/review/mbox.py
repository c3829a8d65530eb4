"""Parsing `git format-patch` output: one mail per file, split into headers, message and diff."""

from __future__ import annotations

import email
import email.errors
import email.header
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
# dates every database stores (PostgreSQL and SQLite alike) with room for time zones
MIN_YEAR, MAX_YEAR = 1900, 9000


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
    # from bytes: parsed from a str, non-ASCII body text would decode as backslash-u escapes
    msg = email.message_from_bytes(raw.encode("utf-8", "surrogatepass"),
                                   policy=email.policy.compat32)
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
        date=_date(msg, what), msgid=_msgid(msg), headers=_headers_text(raw), content=content,
        diff=diff, raw=raw,
    )


def _header(msg: email.message.Message, name: str, what: str) -> str:
    value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if not value:
        raise UserError(f"{what} has no {name}: header (is it `git format-patch` output?)")
    value = str(value)
    if any("\udc80" <= c <= "\udcff" for c in value):  # raw 8-bit header: UTF-8 as sent
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    try:
        text = _decode_words(value)
    except LookupError as exc:
        raise UserError(f"{what}: {name}: header uses an unknown charset ({exc}): encode it "
                        "as UTF-8") from exc
    except (ValueError, email.errors.HeaderParseError) as exc:
        raise UserError(f"{what}: {name}: header has an undecodable encoded word ({exc}): "
                        "encode it as UTF-8 (RFC 2047)") from exc
    return " ".join(text.split())


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; text around them (even raw UTF-8) kept as it is."""
    if "=?" not in value:
        return value
    out = []
    for part, charset in email.header.decode_header(value):
        if isinstance(part, str):
            out.append(part)
        else:   # unencoded text comes back as raw-unicode-escape bytes
            out.append(part.decode(charset or "raw-unicode-escape"))
    return "".join(out)


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


def _name(prefixes: tuple[str, ...], rest: str, what: str) -> str:
    if not rest:
        raise UserError(f"{what} has an empty subject")
    name = f"[{','.join(prefixes)}] {rest}" if prefixes else rest
    return name[:255]


def _date(msg: email.message.Message, what: str) -> datetime:
    value = msg.get("Date")
    try:
        parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        return datetime.now(UTC)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:   # stored in UTC: a date at the calendar's edge may not exist there
        utc = parsed.astimezone(UTC)
    except OverflowError as exc:
        raise UserError(f"{what}: Date: {value!r} is outside the years 1-9999 in UTC: "
                        "send the mail's real date") from exc
    if not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise UserError(f"{what}: Date: {value!r} is outside the years {MIN_YEAR}-{MAX_YEAR}: "
                        "send the mail's real date")
    return utc


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
