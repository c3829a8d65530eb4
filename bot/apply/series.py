"""Commits and the mailable series: one commit per step, git format-patch with a cover letter."""

from __future__ import annotations

from pathlib import Path

from bot import git

NOTES_REF = "cocci-bot"   # bot/build/tree.py finds the bot's commits by this note


def commit(worktree: Path, message: str, env: dict[str, str], note: str) -> str | None:
    """Commit everything spatch changed, with a git note (refs/notes/cocci-bot) naming the
    semantic patch: the project's paths stay out of the kernel message.  None when the
    step changed nothing."""
    git.git(worktree, "add", "--all", "--force", "--", ".")
    if git.git(worktree, "diff", "--cached", "--quiet", check=False).ok:
        return None
    git.git(worktree, "commit", "--quiet", "--no-verify", "-F", "-", input=message, env=env)
    sha = git.out(worktree, "rev-parse", "HEAD")
    git.git(worktree, "notes", f"--ref={NOTES_REF}", "add", "-f", "-m", note, sha, env=env)
    return sha


def below_dashes(patch: Path, text: str) -> None:
    """Put `text` below the patch's `---` line (notes for the reader, not for git)."""
    head, sep, rest = patch.read_text().partition("\n---\n")
    if sep and text.strip():
        patch.write_text(f"{head}{sep}{text.strip()}\n\n{rest}")


def format_patch(worktree: Path, base: str, outdir: Path, subject: str, blurb: str,
                 env: dict[str, str], subject_prefix: str = "PATCH",
                 cover: bool = True) -> list[Path]:
    """git format-patch [--cover-letter] --base into outdir (absolute: git runs in the
    worktree); fills in the cover letter. `env` carries the series' identity: the cover
    letter's From is the committer git sees, the same as the patches' author.  A series of
    one patch has no cover letter (as b4 and git format-patch make it)."""
    if not outdir.is_absolute():
        raise ValueError(f"format_patch needs an absolute output directory, not {outdir}")
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.patch"):
        old.unlink()
    git.git(worktree, "format-patch", "--quiet", *(["--cover-letter"] if cover else []),
            "--thread", f"--subject-prefix={subject_prefix}",
            f"--base={base}", "--zero-commit", "-o", str(outdir), f"{base}..HEAD", env=env)
    files = sorted(outdir.glob("*.patch"))
    _unique_cover_id(files, git.out(worktree, "rev-parse", "--short=12", "HEAD"))
    letter = outdir / "0000-cover-letter.patch"
    if letter.exists():
        text = letter.read_text()
        text = text.replace("*** SUBJECT HERE ***", subject).replace("*** BLURB HERE ***", blurb)
        letter.write_text(text)
    return files


def _unique_cover_id(files: list[Path], head: str) -> None:
    """git names the cover letter <cover.SECONDS.git.EMAIL>: two series made in the same second
    by one identity (parallel workers) would share it. The series' head makes it unique; the
    patches' In-Reply-To/References follow (headers only)."""
    for path in files:
        text = path.read_text()
        header, sep, body = text.partition("\n\n")
        fixed = header.replace("<cover.", f"<cover.{head}.")
        if fixed != header:
            path.write_text(fixed + sep + body)
