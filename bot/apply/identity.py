"""Who the bot's commits and mails are from: author, committer, Signed-off-by and the cover
letter's From are one identity.

In order: the configuration (bot.toml `[identity]`, apply's --bot-name/--bot-email), else the
operator's own git identity as git resolves it (GIT_AUTHOR_* environment, the tree's and the
user's git config; never git's guess from the host name), else a user error saying how to set
one. Never a made-up address: a Signed-off-by must name someone who reads mail.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from bot import git
from bot.errors import UserError

# what an address a person reads looks like: local part, @, a domain with a dot
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>.]+(\.[^@\s<>.]+)+$")
_IDENT_RE = re.compile(r"^(?P<name>.*) <(?P<email>[^<>]*)> \d+ [+-]\d{4}$")

HOW_TO_SET = ("set one: [identity] name/email in bot.toml, --bot-name NAME --bot-email EMAIL, "
              "or git config --global user.name 'Your Name' && "
              "git config --global user.email you@example.org")


class Identity(NamedTuple):
    """(name, email): still the (name, email) pair callers index and unpack."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def env(self, date: str | None = None) -> dict[str, str]:
        """Author and committer for git commit / format-patch."""
        return git.bot_env(self.name, self.email, date=date)


def source(configured: tuple[str, str] | None) -> str:
    """Where the identity `resolve` returns for `configured` comes from (for report.json)."""
    return "configuration" if configured is not None else "git config"


def check(name: str, email: str, source: str) -> Identity:
    """An Identity from `source`, or a UserError naming what is wrong with it."""
    name, email = name.strip(), email.strip()
    if not name or any(c in name for c in "<>\n"):
        raise UserError(f"identity name {name!r} (from {source}) is not usable: {HOW_TO_SET}")
    if not _EMAIL_RE.match(email) or email.endswith((".(none)", ".localdomain")):
        raise UserError(f"identity e-mail {email!r} (from {source}) is not an address anyone "
                        f"reads: {HOW_TO_SET}")
    return Identity(name, email)


def resolve(tree: Path, configured: tuple[str, str] | None) -> Identity:
    """The identity the series is made with (see the module docstring)."""
    if isinstance(configured, Identity):
        return configured
    if configured is not None:
        name, email = configured
        if not (name and email):
            raise UserError("pass both --bot-name and --bot-email (or neither, to use your "
                            "git identity)")
        return check(name, email, "configuration")
    res = git.git(tree, "-c", "user.useConfigOnly=true", "var", "GIT_AUTHOR_IDENT", check=False)
    match = _IDENT_RE.match(res.stdout.strip()) if res.ok else None
    if match is None:
        raise UserError(f"no identity for the series' author and Signed-off-by: {HOW_TO_SET}")
    return check(match["name"], match["email"], "git config")
