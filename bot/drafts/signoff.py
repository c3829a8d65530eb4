"""The approving maintainer signs the drafts off (the DCO: the person who sends certifies).

The queue records who approved a series (its `approved_by`: name and e-mail from their queue
account). The drafts are the series' commits made again with that person's
`Signed-off-by:` last (`git interpret-trailers`, not added twice), committed by them (so the
cover letter is from them), and authored by:
  - the operator's configured identity when apply used one ([identity], --bot-name/--bot-email:
    a real address, which signed the commits off before the maintainer);
  - else the approving maintainer: the bot's own name carries an `.invalid` address, and no
    mail goes out authored by an address nobody reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from bot import git
from bot.apply import identity
from bot.apply.identity import Identity
from bot.errors import UserError


class Signing(NamedTuple):
    """Who signs the drafts off, and who authors them (None: each commit keeps its author)."""

    signer: Identity
    author: Identity | None


def approver(series: dict[str, Any]) -> Identity:
    """The identity of whoever approved `series` (the queue's JSON), or a UserError saying
    what is missing and how to fix it."""
    who = series.get("approved_by")
    sid = series.get("id", "?")
    if not isinstance(who, dict):
        raise UserError(f"series {sid} is accepted but the queue records no approver with an "
                        "e-mail to sign the drafts off: a maintainer with one accepts it "
                        f"again (set theirs with `{identity.account_fix('NAME')}`)")
    username = str(who.get("username") or "NAME")
    return identity.check(str(who.get("name") or ""), str(who.get("email") or ""),
                          f"the queue account {username!r} that accepted series {sid}",
                          f"set it with `{identity.account_fix(username)}`")


def signing(series: dict[str, Any], report: dict[str, Any]) -> Signing:
    """Who signs and who authors the drafts of `series`, made from apply's `report`."""
    signer = approver(series)
    configured = (report.get("identity") or {}).get("source") == identity.SOURCE_CONFIG
    return Signing(signer, None if configured else signer)


def sign(repo: Path, base: str, head: str, how: Signing) -> str:
    """base..head made again as `how` says; returns the new head (base itself if empty).
    The author dates and the trees stay; the same input gives the same commits."""
    parent = base
    for commit in git.out(repo, "rev-list", "--reverse", f"{base}..{head}").split():
        fields = git.out(repo, "show", "-s", "--date=raw",
                         "--format=%an%x00%ae%x00%ad%x00%cd", commit).split("\0")
        name, email, adate, cdate = fields
        author = how.author or Identity(name, email)
        message = git.git(repo, "log", "-1", "--format=%B", commit).stdout
        signed = git.git(repo, "interpret-trailers", "--if-exists", "addIfDifferent",
                         "--trailer", f"Signed-off-by: {how.signer}", input=message).stdout
        env = {**git.bot_env(how.signer.name, how.signer.email, date=cdate),
               "GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
               "GIT_AUTHOR_DATE": adate}
        parent = git.git(repo, "commit-tree", f"{commit}^{{tree}}", "-p", parent, "-F", "-",
                         env=env, input=signed).stdout.strip()
    return parent
