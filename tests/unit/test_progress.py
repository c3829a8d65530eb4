"""Progress of long work (bot/progress.py): plain lines in a log, one rewritten line on a
terminal, nothing with --quiet, and the latest line in a state file for `cocci-bot status`."""

from __future__ import annotations

import io
import logging
import os
import pty
import time

import pytest

from bot import progress
from bot.boot import console


@pytest.fixture(autouse=True)
def loud():
    progress.configure(quiet=False)
    yield
    progress.configure(quiet=False)


@pytest.fixture
def caplog(caplog):
    """The progress logger's records, also after `cocci-bot` set logging up (it stops the
    `bot` loggers from propagating to the root)."""
    logger = logging.getLogger("bot.progress")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_plain_lines_in_a_log_and_the_state_file(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())        # not a TTY
    state = tmp_path / "progress.json"
    seen = []
    calls = iter(range(1000))

    def where() -> str:
        n = next(calls)
        if state.is_file():
            seen.append(progress.read(state))
        return f"{n} objects compiled"

    with caplog.at_level(logging.INFO, logger="bot.progress"), \
            progress.ticking("build", where, state_file=state, every=0.05):
        time.sleep(0.4)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.progress"]
    assert len(lines) >= 3 and lines[0] == "build: 0 objects compiled"
    assert "build: 0 objects compiled" in seen
    assert not state.exists()                              # gone once the work is done


def test_one_rewritten_line_on_a_terminal(monkeypatch):
    master, slave = pty.openpty()
    term = os.fdopen(slave, "w")
    monkeypatch.setattr("sys.stderr", term)
    with progress.ticking("boot", lambda: "kvm guest: kernel booting", every=0.05):
        time.sleep(0.3)
    term.flush()
    out = os.read(master, 65536).decode()
    term.close()
    os.close(master)
    assert out.count("\r\x1b[Kboot: kvm guest: kernel booting") >= 2
    assert "\n" not in out.replace("\r\n", "")             # never a new line


def test_quiet_shows_nothing(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    progress.configure(quiet=True)
    with caplog.at_level(logging.INFO, logger="bot.progress"), \
            progress.ticking("mirror", lambda: "12 MB of 120 MB", every=0.05):
        time.sleep(0.2)
    assert not [r for r in caplog.records if r.name == "bot.progress"]


def test_a_failing_probe_does_not_stop_the_work(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="bot.progress"), \
            progress.ticking("build", lambda: str(1 / 0), every=0.05):
        time.sleep(0.15)
    assert "progress unavailable" in caplog.text


def test_guest_phases():
    assert console.phase("", "").startswith("firmware")
    assert console.phase("Linux version 5.10.223", "") == "kernel booting"
    assert console.phase("Linux version 5.10.223", "cocci-bot: begin\n") == "init started"
    assert console.phase("Linux version", "cocci-bot: begin\ncocci-bot: kvm_smoke: VM created\n") \
        == "in-guest check: kvm_smoke: VM created"
    assert console.phase("Linux version", "cocci-bot: begin\ncocci-bot: end\n") == "guest done"
    assert progress.elapsed(75) == "1m15s" and progress.elapsed(9.5) == "9s"
