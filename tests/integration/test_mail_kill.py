"""kill -9 of `cocci-bot run` while git send-email is talking to the SMTP server: the next run
sends nothing again (mail.json recorded the intent first) and says why."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from bot_setup import BOT, accept, bot_toml, git, run, run_argv, run_json, smtp_server

MAINTAINERS = """KERNEL VIRTUAL MACHINE (KVM)
M:\tPaolo Maintainer <paolo@example.org>
L:\tkvm@example.org
S:\tSupported
F:\tvirt/kvm/
F:\tarch/x86/kvm/
F:\tinclude/linux/kvm*
"""


class StallingInbox:
    """Takes the first mail's DATA, then holds the connection until released."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.in_flight = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.in_flight.set()
        while not self.release.is_set():
            await asyncio.sleep(0.1)
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def tree_with_maintainers(fake_kernel_tree: Path, debian_mirror: Path) -> Path:
    tree = fake_kernel_tree
    (tree / "scripts").mkdir()
    (tree / "scripts" / "get_maintainer.pl").write_text(
        git(debian_mirror, "show", "v5.10.223:scripts/get_maintainer.pl") + "\n")
    (tree / "MAINTAINERS").write_text(MAINTAINERS)
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "release 2")
    git(tree, "tag", "v5.10.2")
    return tree


def orphans(marker: str) -> list[int]:
    """Processes whose command line names `marker` (ours: the test's own directory)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmd and int(d.name) != os.getpid():
                found.append(int(d.name))
    return found


def test_kill_9_during_the_send_never_sends_twice(tmp_path: Path, tree_with_maintainers: Path):
    inbox = StallingInbox()
    try:
        with smtp_server(inbox) as (port, _):
            try:
                _run_kill_rerun(tmp_path, tree_with_maintainers, port, inbox)
            finally:
                inbox.release.set()
    finally:
        for pid in orphans(str(tmp_path / "data")):
            os.kill(pid, signal.SIGKILL)


def _run_kill_rerun(tmp_path: Path, tree: Path, port: int, inbox: StallingInbox) -> None:
    data = tmp_path / "data"
    cfg = bot_toml(tmp_path / "bot.toml", tree, mail_port=port)
    assert run(cfg, data) == 0
    st = run_json(data)
    assert st["tag"] == "v5.10.2"
    accept(data, st["stages"]["post"]["series_id"])
    bot = subprocess.Popen([*BOT, *run_argv(cfg, data)], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert inbox.in_flight.wait(180), "git send-email never reached the SMTP server"
        mail_json = json.loads((data / "runs" / "1" / "mail.json").read_text())
        assert mail_json["state"] == "sending" and mail_json["to"]
        os.killpg(bot.pid, signal.SIGKILL)
        bot.wait(30)
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGKILL)
    for pid in orphans(str(data)):   # a send-email the killed bot left: kill it, as a reaper
        os.kill(pid, signal.SIGKILL)
    inbox.release.set()
    time.sleep(0.5)
    delivered = len(inbox.messages)
    assert delivered <= 1
    assert run(cfg, data) == 1   # the mail stage FAILs: not sent again
    st = run_json(data)
    assert st["stages"]["drafts"]["send_email_dry_run"]["ok"]
    mail = st["stages"]["mail"]
    assert mail["status"] == "FAIL" and "not sent again" in mail["why"], mail
    assert len(inbox.messages) == delivered
    run(cfg, data)
    assert len(inbox.messages) == delivered   # and never later

