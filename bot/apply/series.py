"""Commits and the mailable series: one commit per step, git format-patch with a cover letter."""

from __future__ import annotations

from pathlib import Path

from bot import git


def commit(worktree: Path, message: str, env: dict[str, str]) -> str | None:
    """Commit everything spatch changed; None when the step changed nothing."""
    git.git(worktree, "add", "--all", "--force", "--", ".")
    if git.git(worktree, "diff", "--cached", "--quiet", check=False).ok:
        return None
    git.git(worktree, "commit", "--quiet", "--no-verify", "-F", "-", input=message, env=env)
    return git.out(worktree, "rev-parse", "HEAD")


def format_patch(worktree: Path, base: str, outdir: Path, subject: str, blurb: str) -> list[Path]:
    """git format-patch --cover-letter --base into outdir; fills in the cover letter."""
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.patch"):
        old.unlink()
    names = git.out(worktree, "format-patch", "--quiet", "--cover-letter", "--thread",
                    f"--base={base}", "--zero-commit", "-o", str(outdir), f"{base}..HEAD")
    files = sorted(outdir.glob("*.patch"))
    cover = outdir / "0000-cover-letter.patch"
    if cover.exists():
        text = cover.read_text()
        text = text.replace("*** SUBJECT HERE ***", subject).replace("*** BLURB HERE ***", blurb)
        cover.write_text(text)
    del names
    return files
