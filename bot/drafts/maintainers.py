"""To/Cc from the tree's own scripts/get_maintainer.pl and MAINTAINERS, at the base commit.

Both files are read from the base commit (the tree may be bare), so the
recipients are the ones that release names.  Maintainers and supporters go to
To; reviewers and mailing lists to Cc.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from bot import git, proc

log = logging.getLogger("bot.drafts")
_LINE = re.compile(r"^(?P<who>.+?)\s+\((?P<role>[^:)]+)")
TO_ROLES = ("maintainer", "supporter", "odd fixer")


def recipients(repo: Path, base: str, patches: list[Path]) -> tuple[list[str], list[str]]:
    with tempfile.TemporaryDirectory(prefix="cocci-bot-gm-") as tmp:
        work = Path(tmp)
        missing = git.export(repo, base, ("scripts/get_maintainer.pl", "MAINTAINERS"), work)
        if missing:
            log.warning("drafts: no %s in %s: the drafts carry no To/Cc, add them by hand",
                        missing[0], base[:12])
            return [], []
        res = proc.run(["perl", str(work / "scripts/get_maintainer.pl"), "--no-tree", "--nogit",
                        "--nogit-fallback", "--mpath", str(work / "MAINTAINERS"),
                        *map(str, patches)], cwd=work, timeout=120)
    return parse(res.stdout)


def parse(output: str) -> tuple[list[str], list[str]]:
    to: list[str] = []
    cc: list[str] = []
    for line in output.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        who = m.group("who")
        target = to if m.group("role").strip() in TO_ROLES else cc
        if who not in to and who not in cc:
            target.append(who)
    return to, cc
