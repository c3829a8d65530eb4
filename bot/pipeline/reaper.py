"""Nothing left running by a bot that was killed with SIGKILL.

The programs a stage runs (spatch, git, make under tuxmake, QEMU, the embedded queue) run in
their own process groups so that a timeout or SIGTERM can kill them whole (bot/proc.py); a
SIGKILL of the bot itself gives it no chance to. So the main job marks itself in its
environment, which every program it starts inherits:

    COCCI_BOT_OWNER=<pid>:<start time>:<data dir>

and the next run on the same data dir kills every process carrying a mark whose owner is no
longer alive (its pid gone, or reused by another process).  A live owner is left alone: two
runs, or workers, may share a data dir.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

from bot import git

log = logging.getLogger("bot.run")

MARK = "COCCI_BOT_OWNER"
REAPED: list[str] = []     # what this process killed: git locks may be stale after it
PROC = Path("/proc")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def mark(data_dir: Path) -> str:
    """Mark this process (and so every program it starts from now on) as owned by it."""
    value = f"{os.getpid()}:{_start_time(os.getpid())}:{data_dir.resolve()}"
    os.environ[MARK] = value
    return value


def _alive(owner: str) -> bool:
    pid, start, _ = owner.split(":", 2)
    return pid.isdigit() and _start_time(int(pid)) == start


def _mark_of(pid: int) -> str | None:
    try:
        env = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    for item in env.split(b"\0"):
        if item.startswith(MARK.encode() + b"="):
            return item.split(b"=", 1)[1].decode(errors="replace")
    return None


def orphans(data_dir: Path) -> list[tuple[int, str]]:
    """(pid, command name) of the processes a dead owner on `data_dir` left behind."""
    me, where = os.getpid(), str(data_dir.resolve())
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        owner = _mark_of(int(entry.name))
        if owner is None or owner.split(":", 2)[-1] != where or _alive(owner):
            continue
        with contextlib.suppress(OSError):
            found.append((int(entry.name), (entry / "comm").read_text().strip()))
    return found


def reap(data_dir: Path) -> list[str]:
    """SIGKILL what a killed run on `data_dir` left running; returns their command names."""
    killed: list[str] = []
    for pid, name in orphans(data_dir):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(name)
    if killed:
        log.info("run: killed %d program(s) a killed run left running: %s", len(killed),
                 ", ".join(sorted(set(killed))))
        REAPED.extend(killed)
    return killed


def stale_git_locks(repo: Path) -> list[Path]:
    """index.lock files of `repo` and its worktrees: stale once reap() killed their git."""
    res = git.git(repo, "rev-parse", "--git-common-dir", check=False)
    if not res.ok:
        return []
    common = Path(res.stdout.strip())
    common = common if common.is_absolute() else repo / common
    return [p for p in [common / "index.lock", *common.glob("worktrees/*/index.lock")]
            if p.exists()]


def clear_git_locks(repo: Path) -> None:
    """After a reap: remove the index locks the killed git processes left."""
    for lock in stale_git_locks(repo):
        log.info("run: removing %s, left by a git a killed run started", lock)
        lock.unlink(missing_ok=True)
