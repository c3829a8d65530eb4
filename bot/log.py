"""Logging set-up: one line per event on stderr; --debug shows every command run."""

from __future__ import annotations

import logging
import sys


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the event, not at set-up (a library
    caller, or a test harness, may have swapped it since)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup(debug: bool = False) -> None:
    level = logging.DEBUG if debug else logging.INFO
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s" if not debug else
                                           "%(asctime)s %(name)s: %(message)s"))
    root = logging.getLogger("bot")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def progress(stage: str, message: str) -> None:
    """A progress line for long work (fetch, unpack, build, boot)."""
    logging.getLogger(f"bot.{stage}").info("%s: %s", stage, message)
