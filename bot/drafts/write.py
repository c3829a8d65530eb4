"""Write the drafts: git format-patch -vN --cover-letter --base, To/Cc, range-diff to v(N-1).

The drafts land in a directory; bot.drafts.send checks them with `git send-email --dry-run`
and sends them only when bot.toml says so ([mail] send = true).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bot import git
from bot.apply.series import below_dashes
from bot.drafts import maintainers, send, tested
from bot.drafts.signoff import Signing, sign


def write(repo: Path, base: str, head: str, out: Path, *, version: int, subject: str, blurb: str,
          signing: Signing, previous: tuple[str, str] | None = None,
          in_reply_to: str | None = None, subject_prefix: str = "PATCH") -> list[Path]:
    """Drafts of base..head in `out` (emptied first); returns the files. `previous` is the
    previous version's base..head (its range-diff goes into the cover), `in_reply_to` its
    cover's Message-ID (the cover letter answers it: one thread for every version).
    `signing`: the approving maintainer signs every patch off and sends the cover
    (bot.drafts.signoff); the previous version is signed alike for the range-diff, so it
    shows what changed in the code and messages, not the sign-off."""
    head = sign(repo, base, head, signing)
    if previous:
        previous = (previous[0], sign(repo, previous[0], previous[1], signing))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    git.git(repo, "format-patch", "--quiet", "-o", str(out / ".plain"), f"{base}..{head}")
    to, cc = maintainers.recipients(repo, base, sorted((out / ".plain").glob("*.patch")))
    shutil.rmtree(out / ".plain")
    single = git.out(repo, "rev-list", "--count", f"{base}..{head}") == "1"
    argv = ["format-patch", "--quiet", *([] if single else ["--cover-letter"]), "--thread",
            f"--base={base}", f"--subject-prefix={subject_prefix}", "-o", str(out)]
    if version > 1:
        argv.append(f"-v{version}")
    if previous:
        argv.append(f"--range-diff={previous[0]}..{previous[1]}")
    if in_reply_to:
        argv.append(f"--in-reply-to={in_reply_to}")
    argv += [f"--to={a}" for a in to] + [f"--cc={a}" for a in cc]
    git.git(repo, *argv, f"{base}..{head}", env=signing.signer.env())
    files = sorted(out.glob("*.patch"))
    unique_cover_id(files, f"v{version}.{head[:12]}")
    if not single:
        cover = files[0]
        cover.write_text(cover.read_text().replace("*** SUBJECT HERE ***", subject)
                         .replace("*** BLURB HERE ***", blurb))
    return files


def frame(files: list[Path], report: dict, run_dir: Path, series_url: str | None) -> None:
    """The notes apply put below each patch's `---` (which semantic patch made it, with the
    queue's URL for its reproducer; a single patch's cover facts), and what this run tested
    (bot/drafts/tested.py) at the end of the cover's blurb (before git's shortlog), or below
    the `---` of a single patch."""
    mails = [f for f in files if "0000-cover-letter" not in f.name]
    notes = [text for _, text in sorted(report.get("below_dashes", {}).items())]
    if series_url:
        notes = [n.replace("the review queue has its reproducer.",
                           f"the review queue has it\nwith its reproducer: {series_url}")
                 for n in notes]
    summary = tested.summary(run_dir)
    if summary and len(mails) < len(files):
        text = files[0].read_text()
        m = re.search(r"\n\n[^\n]+ \(\d+\):\n", text)     # git's shortlog: "Name (N):"
        if m:
            files[0].write_text(text[:m.start()] + f"\n\n{summary}" + text[m.start():])
    elif summary:
        notes = [f"{summary}\n\n{n}" for n in notes] or [summary]
    for mail, note in zip(mails, notes, strict=False):
        below_dashes(mail, note)


def unique_cover_id(files: list[Path], tag: str) -> None:
    """format-patch names a cover letter <cover.SECONDS.git.COMMITTER>: two series drafted in
    the same second would share it (and the mail loop detection would refuse the second).
    Put `tag` (version and head) into it, in the cover and in the patches that answer it."""
    old = send.message_id(files[0]) or ""
    if not old.startswith("<cover."):
        return
    new = old.replace("<cover.", f"<cover.{tag}.", 1)
    for f in files:
        f.write_text(f.read_text().replace(old, new))
