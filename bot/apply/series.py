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


def format_patch(worktree: Path, base: str, outdir: Path, subject: str, blurb: str,
                 env: dict[str, str]) -> list[Path]:
    """git format-patch --cover-letter --base into outdir (absolute: git runs in the
    worktree); fills in the cover letter. `env` carries the series' identity: the cover
    letter's From is the committer git sees, the same as the patches' author."""
    if not outdir.is_absolute():
        raise ValueError(f"format_patch needs an absolute output directory, not {outdir}")
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.patch"):
        old.unlink()
    git.git(worktree, "format-patch", "--quiet", "--cover-letter", "--thread",
            f"--base={base}", "--zero-commit", "-o", str(outdir), f"{base}..HEAD", env=env)
    files = sorted(outdir.glob("*.patch"))
    cover = outdir / "0000-cover-letter.patch"
    if cover.exists():
        text = cover.read_text()
        text = text.replace("*** SUBJECT HERE ***", subject).replace("*** BLURB HERE ***", blurb)
        cover.write_text(text)
    return files
