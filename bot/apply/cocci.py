"""The spatch driver: one prefiltered (git grep), parallel run of a semantic patch.

spatch runs with cwd= the campaign folder (so `#include "classify.cocci"`
resolves), `--dir` the worktree, `--use-gitgrep` so that only files holding the
patch's tokens are parsed, `-j` jobs and a per-file `--timeout`.  What spatch
says about single files (a parse failure, a timeout) is collected per file; a
broken semantic patch is the campaign author's error and says where.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot import defaults, proc
from bot.errors import InfraError, UserError

RECORD_PREFIX = "cocci-bot-"
_SMPL_ERROR = re.compile(r'(parse error|Fatal error|semantic error|meta: parse error)', re.I)
_FILE_PROBLEM = re.compile(
    r"(?P<what>timeout|parse error|EXN|error in|bad:|Failure)\b.*?(?:\bin |: |\s)"
    r"(?P<file>[\w./+-]+\.[ch])$", re.I)


@dataclass
class SpatchRun:
    argv: list[str]
    stdout: str
    stderr: str
    seconds: float
    records: list[dict] = field(default_factory=list)
    file_problems: dict[str, str] = field(default_factory=dict)

    @property
    def diff(self) -> str:
        """What spatch printed that is not one of our report records (the patch, in diff mode)."""
        return "".join(line for line in self.stdout.splitlines(keepends=True)
                       if not line.startswith(RECORD_PREFIX))


def version() -> str:
    """spatch's version, e.g. "1.1.1"; InfraError naming the fix when spatch is missing."""
    res = proc.run(["spatch", "--version"], timeout=30)
    match = re.search(r"spatch version (\S+)", res.stdout + res.stderr)
    if not match:
        raise InfraError(f"could not read spatch's version from: {res.tail()}")
    return match.group(1)


def argv(sp_file: Path, tree: Path, mode: str, options: tuple[str, ...], *,
         in_place: bool, jobs: int = defaults.SPATCH_JOBS,
         timeout: int = defaults.TIMEOUT_SPATCH_FILE) -> list[str]:
    """The spatch command line for one step (pure; tested by list equality)."""
    cmd = ["spatch", "--sp-file", str(sp_file), "--dir", str(tree), "--use-gitgrep",
           "-j", str(jobs), "--timeout", str(timeout), "--very-quiet", "-D", mode, *options]
    if in_place:
        cmd.append("--in-place")
    return cmd


def run(sp_file: Path, tree: Path, mode: str, options: tuple[str, ...], *,
        in_place: bool = False, log_path: Path | None = None,
        jobs: int = defaults.SPATCH_JOBS, timeout: int = defaults.TIMEOUT_SPATCH_FILE) -> SpatchRun:
    cmd = argv(sp_file, tree, mode, options, in_place=in_place, jobs=jobs, timeout=timeout)
    res = proc.run(cmd, cwd=sp_file.parent, timeout=defaults.TIMEOUT_SPATCH_RUN, check=False,
                   log_path=log_path)
    _check_semantic_patch(res, sp_file)
    out = SpatchRun(cmd, res.stdout, res.stderr, res.seconds)
    out.records = parse_records(res.stdout, tree)
    out.file_problems = parse_file_problems(res.stderr, tree)
    if res.returncode != 0 and not out.file_problems:
        raise InfraError(f"spatch failed (exit {res.returncode}) on {sp_file.name}: {res.tail()}")
    return out


def _check_semantic_patch(res: proc.Result, sp_file: Path) -> None:
    """A .cocci spatch cannot parse is reported with spatch's own file/line message."""
    if res.returncode == 0 or not _SMPL_ERROR.search(res.stderr):
        return
    text = res.stderr
    if 'File "' in text and ".cocci" in text.split('File "', 1)[1].split('"', 1)[0]:
        where = text.split('File "', 1)[1].split("\n", 1)[0]
        raise UserError(f"semantic patch {sp_file.name} does not parse: File \"{where.strip()}"
                        " — fix the .cocci (spatch --parse-cocci FILE shows the details)")


def parse_records(stdout: str, tree: Path) -> list[dict]:
    """The `cocci-bot-<kind> {json}` lines classify.cocci prints, file paths made tree-relative."""
    records = []
    for line in stdout.splitlines():
        if not line.startswith(RECORD_PREFIX):
            continue
        rec = json.loads(line.split(" ", 1)[1])
        rec["file"] = relative(rec["file"], tree)
        records.append(rec)
    return records


def parse_file_problems(stderr: str, tree: Path) -> dict[str, str]:
    """file -> first problem spatch reported for it (timeouts, parse failures, exceptions)."""
    problems: dict[str, str] = {}
    for line in stderr.splitlines():
        match = _FILE_PROBLEM.search(line)
        if match:
            problems.setdefault(relative(match.group("file"), tree), line.strip()[:300])
    return problems


def relative(path: str, tree: Path) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(tree.resolve()))
    except ValueError:
        return path
