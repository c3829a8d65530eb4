"""checkpatch.pl on the generated series, with the base tree's own script and data files.

Writes OUTDIR/checkpatch/checkpatch.json ({"errors", "warnings", "checks", "patches": [...]})
and checkpatch.log; the review queue shows it as the `checkpatch` check.  A tree
without scripts/checkpatch.pl gets no result (and says so), never a guess.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from bot import git, jsonfile, proc

log = logging.getLogger("bot.apply")
FILES = ("scripts/checkpatch.pl", "scripts/spelling.txt", "scripts/const_structs.checkpatch")
# checkpatch looks a commit id up in the git history it finds; a Debian mirror tree has one
# commit per release, so every upstream id is "unknown" there.  The claim check proves each
# id the messages name (its title and release, against git where the tree has it).
IGNORED = {"UNKNOWN_COMMIT_ID": "commit ids are proved by the claim check, not by this tree's "
                                "history (a mirror tree has one commit per release)"}
_TOTAL = re.compile(r"^total: (\d+) errors, (\d+) warnings(?:, (\d+) checks)?", re.M)


def run(repo: Path, base: str, patches: list[Path], out: Path, *,
        signed: bool = True) -> dict | None:
    """`signed` False: the series carries no Signed-off-by yet (the approving maintainer's
    is added to the drafts), so checkpatch is told not to ask for one (--no-signoff)."""
    patches = [p for p in patches if not p.name.startswith("0000-")]
    with tempfile.TemporaryDirectory(prefix="cocci-bot-checkpatch-") as tmp:
        work = Path(tmp)
        if FILES[0] in git.export(repo, base, FILES, work):
            log.info("apply: no scripts/checkpatch.pl at %s: checkpatch not run", base[:12])
            return None
        results, logs = [], []
        for patch in patches:
            res = proc.run(["perl", str(work / FILES[0]), "--no-tree", "--show-types",
                            "--no-color", "--ignore", ",".join(IGNORED),
                            *([] if signed else ["--no-signoff"]), str(patch)],
                           cwd=work, timeout=120, check=False)
            results.append({"patch": patch.name, **parse(res.stdout)})
            logs.append(f"=== {patch.name}\n{res.stdout}{res.stderr}")
    doc = {key: sum(r[key] for r in results) for key in ("errors", "warnings", "checks")}
    doc["patches"] = results
    doc["ignored"] = IGNORED
    doc["signoff"] = ("checked" if signed else
                      "not asked for: the approving maintainer signs the drafts off")
    (out / "checkpatch").mkdir(parents=True, exist_ok=True)
    (out / "checkpatch" / "checkpatch.log").write_text("\n".join(logs))
    jsonfile.write(out / "checkpatch" / "checkpatch.json", doc)
    return doc


def parse(output: str) -> dict:
    m = _TOTAL.search(output)
    if not m:
        return {"errors": 1, "warnings": 0, "checks": 0, "note": "checkpatch printed no total"}
    return {"errors": int(m.group(1)), "warnings": int(m.group(2)), "checks": int(m.group(3) or 0)}
