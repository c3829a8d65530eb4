"""Where long work stands, while it runs: the mirror's download and import, the build, the boot.

`ticking(stage, where)` calls `where()` (a function that says where the work stands, in one
short line) in a background thread while the `with` body runs and shows it:

- on a terminal (stderr is a TTY): one line that rewrites itself, every TTY_EVERY seconds;
- otherwise (a log, a systemd journal): a plain line every LOG_EVERY seconds;
- with `--quiet` (configure(quiet=True)): nothing.

Whatever the output, the latest line is also written to `state_file` (JSON: stage, line,
at), when one is given, so that `cocci-bot status` can show the running stage's progress.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bot import jsonfile

TTY_EVERY = 2.0       # seconds between rewrites of the terminal line (the goal: <= 10 s)
LOG_EVERY = 60.0      # seconds between plain lines in a log (the goal: <= 60 s)
FILE = "progress.json"  # the latest line, beside a stage's own record

_settings = {"quiet": False}
log = logging.getLogger("bot.progress")


def configure(*, quiet: bool) -> None:
    _settings["quiet"] = quiet


def is_quiet() -> bool:
    return _settings["quiet"]


def _tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Ticker:
    """The thread behind `ticking`."""

    def __init__(self, stage: str, where: Callable[[], str], state_file: Path | None,
                 every: float | None, tty: bool):
        self.stage, self.where, self.state_file, self.tty = stage, where, state_file, tty
        self.every = every if every is not None else (TTY_EVERY if tty else LOG_EVERY)
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.shown = False
        self.thread = threading.Thread(target=self.loop, name=f"progress-{stage}", daemon=True)

    def loop(self) -> None:
        while not self.stop.wait(self.every):
            self.tick()

    def tick(self) -> None:
        try:
            line = f"{self.stage}: {self.where()}"
        except Exception as exc:     # noqa: BLE001  a progress probe must never stop the work
            line = f"{self.stage}: (progress unavailable: {exc})"
        if self.state_file is not None:
            with contextlib.suppress(OSError):
                jsonfile.write(self.state_file, {"stage": self.stage, "line": line,
                                                 "at": time.time()})
        if is_quiet():
            return
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line[:200])
            sys.stderr.flush()
            self.shown = True
        else:
            log.info("%s", line)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
        if self.state_file is not None:
            with contextlib.suppress(OSError):
                self.state_file.unlink(missing_ok=True)


@contextlib.contextmanager
def ticking(stage: str, where: Callable[[], str], *, state_file: Path | None = None,
            every: float | None = None) -> Iterator[Ticker]:
    """Show `where()` regularly while the body runs (see the module's doc)."""
    ticker = Ticker(stage, where, state_file, every, _tty())
    ticker.thread.start()
    try:
        yield ticker
    finally:
        ticker.close()


def elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def read(state_file: Path) -> str | None:
    """The latest progress line a running stage wrote (None when there is none)."""
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return str(data.get("line")) if isinstance(data, dict) and data.get("line") else None
