"""`git patch-id --stable` of a diff: the patch's identity, as the kernel's tools compute it."""

from __future__ import annotations

from bot import defaults, proc
from bot.errors import UserError


def patch_id(diff: str, what: str) -> str:
    result = proc.run(["git", "patch-id", "--stable"], input=_as_commit(diff),
                      timeout=defaults.TIMEOUT_DEFAULT)
    words = result.stdout.split()
    if not words:
        raise UserError(f"{what}: git patch-id found no diff in it")
    return words[0]


def _as_commit(diff: str) -> str:
    # patch-id reads `git log -p`-like input; a fake commit line keeps it from merging patches
    return "commit " + "0" * 40 + "\n\n" + diff
