"""One process at a time on a directory: an flock on DIR/.lock, taken without waiting.

The lock dies with its holder (the kernel drops an flock when the file descriptor closes, a
SIGKILLed process included), so none is ever left stale. The job lock (bot/pipeline/run.py)
and the build's work-dir lock (bot/build/run.py) are this one lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from bot.errors import CocciBotError


class FileLock:
    """`with FileLock(path, busy=SomeError("...")):` raises `busy` when another holds it."""

    def __init__(self, path: Path, *, busy: CocciBotError):
        self.path, self.busy = path, busy
        self.fd: int | None = None

    def __enter__(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self.busy from None
        self.fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.fd is not None:
            os.close(self.fd)   # releases the flock
            self.fd = None
