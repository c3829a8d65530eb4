"""The one naming rule for tree and project names: bot.toml's [[tree]] name, `cocci-bot apply`'s
default project name and `cocci-bot serve --create-project` all go through here.

A name is 1-64 characters: lowercase letters, digits, "-" and "_", starting and ending with a
letter or a digit ("debian-linux", "linux_stable", "kvm-next"). It is used as a URL part
(the queue's project), a mailing-list id and a directory name, so nothing else is allowed.
"""

from __future__ import annotations

import re

from bot.errors import UserError

MAX_LEN = 64
_RULE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")
RULE = "1-64 lowercase letters, digits, - and _, starting and ending with a letter or digit"


def is_valid(name: object) -> bool:
    return isinstance(name, str) and _RULE.fullmatch(name) is not None


def check(name: str, what: str = "name") -> str:
    """`name` when it follows the rule; else a UserError that names the fix."""
    if not is_valid(name):
        raise UserError(f"{what} {name!r} is not a valid name: use {RULE}, "
                        f"e.g. {suggest(name)!r}")
    return name


def suggest(text: str) -> str:
    """A valid name made from `text` (a directory name like "Linux-Stable.git" -> "linux-stable")."""
    name = text[:-4] if text.endswith(".git") else text
    name = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:MAX_LEN].strip("-_")
    return name or "linux"
