"""Who the bot's commits are from, and who signs a series off.

The series apply makes (author, committer, the cover letter's From) is authored by:
  - the operator's configured identity (bot.toml `[identity]`, apply's --bot-name/--bot-email):
    a real address, which also signs each commit off;
  - else the bot itself, under a name that says what it is ("cocci-bot (kvm-refcounted-pfn
    campaign)") and an address under `.invalid` (RFC 6761: guaranteed never to exist, so it
    cannot be taken for a person's); nobody signs such commits off.
Neither needs a git identity on the host: a series that only goes to the local review queue
needs no human.

The human comes in when a series goes out by mail: the maintainer who approves it in the queue
signs it off (bot.drafts.signoff) and, when the bot authored it, becomes its author, so no
mail is ever authored by an address nobody reads. `signer` checks the approver's identity.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot import git
from bot.errors import UserError

# what an address a person reads looks like: local part, @, a domain with a dot
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>.]+(\.[^@\s<>.]+)+$")
# domains no mail is ever delivered to (RFC 2606/6761 and git's guesses from a host name)
_NOWHERE = (".invalid", ".localhost", ".local", ".localdomain", ".(none)", ".example",
            ".test")

HOW_TO_SET = ("set [identity] name/email in bot.toml or pass --bot-name NAME "
              "--bot-email EMAIL")
BOT_DOMAIN = "cocci-bot.invalid"
SOURCE_CONFIG = "configuration"
SOURCE_BOT = "bot"


class Identity(NamedTuple):
    """(name, email): still the (name, email) pair callers index and unpack."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def signs(self) -> bool:
        """Whether this identity signs its commits off: a person's address, not the bot's."""
        return not self.email.endswith("@" + BOT_DOMAIN)

    def env(self, date: str | None = None) -> dict[str, str]:
        """Author and committer for git commit / format-patch."""
        return git.bot_env(self.name, self.email, date=date)


def bot(campaign: str) -> Identity:
    """The bot as the author of a series nobody configured an identity for."""
    return Identity(f"cocci-bot ({campaign} campaign)", f"{campaign}@{BOT_DOMAIN}")


def account_fix(username: str) -> str:
    """The command that gives a review-queue account the name and e-mail a sign-off needs
    (it also prints a new token; the account's other tokens stay valid)."""
    return (f"cocci-bot serve --create-token maintainer {username} --email you@example.org "
            "--name 'Your Name'")


def source(configured: tuple[str, str] | None) -> str:
    """Where the identity `resolve` returns for `configured` comes from (for report.json)."""
    return SOURCE_CONFIG if configured is not None else SOURCE_BOT


def usable_email(email: str) -> bool:
    """An address someone can read mail at (not git's host-name guess, not a reserved name)."""
    email = email.strip()
    return bool(_EMAIL_RE.match(email)) and not email.lower().endswith(_NOWHERE)


def check(name: str, email: str, source: str, fix: str = HOW_TO_SET) -> Identity:
    """An Identity from `source`, or a UserError naming what is wrong with it and `fix`."""
    name, email = " ".join(name.split()), email.strip()
    if not name or any(c in name for c in "<>\n"):
        raise UserError(f"identity name {name!r} (from {source}) is not usable: {fix}")
    if not usable_email(email):
        raise UserError(f"identity e-mail {email!r} (from {source}) is not an address anyone "
                        f"reads: {fix}")
    return Identity(name, email)


def resolve(configured: tuple[str, str] | None, campaign: str) -> Identity:
    """The identity the series is made with (see the module docstring)."""
    if isinstance(configured, Identity):
        return configured
    if configured is None:
        return bot(campaign)
    name, email = configured
    if not (name and email):
        raise UserError("pass both --bot-name and --bot-email (or neither: the bot authors "
                        "the series and the approving maintainer signs it off)")
    return check(name, email, SOURCE_CONFIG)
