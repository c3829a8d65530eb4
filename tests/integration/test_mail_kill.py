"""kill -9 of `cocci-bot run` while git send-email is talking to the SMTP server: the next run
sends nothing again (mail.json recorded the intent first) and says why."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from bot import cli

MAINTAINERS = """KERNEL VIRTUAL MACHINE (KVM)
M:\tPaolo Maintainer <paolo@example.org>
L:\tkvm@example.org
S:\tSupported
F:\tvirt/kvm/
F:\tarch/x86/kvm/
F:\tinclude/linux/kvm*
"""


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    from aiosmtpd.controller import Controller

    inbox = StallingInbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        _run_kill_rerun(tmp_path, tree_with_maintainers, ctl.port, inbox)
    finally:
        inbox.release.set()
        ctl.stop()
        for pid in orphans(str(tmp_path / "data")):
            os.kill(pid, signal.SIGKILL)


def _run_kill_rerun(tmp_path: Path, tree: Path, port: int, inbox: StallingInbox) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "bot.toml"
    cfg.write_text(f"""
[[tree]]
name = "small-linux"
source = "git"
path = "{tree}"
tags = "v5.10.*"

[checks]
build = false
boot = false

[mail]
send = true
host = "127.0.0.1"
port = {port}
tls = "none"
""")
    argv = ["run", "--config", str(cfg), "--data-dir", str(data)]
    assert cli.main(argv) == 0
    st = json.loads((data / "runs" / "1" / "run.json").read_text())
    assert st["tag"] == "v5.10.2"
    _accept(data, st["stages"]["post"]["series_id"])
    bot = subprocess.Popen([sys.executable, "-m", "bot", *argv], start_new_session=True,
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
    assert cli.main(argv) == 1   # the mail stage FAILs: not sent again
    st = json.loads((data / "runs" / "1" / "run.json").read_text())
    assert st["stages"]["drafts"]["send_email_dry_run"]["ok"]
    mail = st["stages"]["mail"]
    assert mail["status"] == "FAIL" and "not sent again" in mail["why"], mail
    assert len(inbox.messages) == delivered
    cli.main(argv)
    assert len(inbox.messages) == delivered   # and never later


def _accept(data: Path, series_id: int) -> None:
    from bot.pipeline.config import Config
    from bot.pipeline.queue import Queue

    token = subprocess.run([sys.executable, "-m", "bot", "serve", "--create-token", "maintainer",
                            "alice", "--data-dir", str(data)], check=True, capture_output=True,
                           text=True, timeout=120).stdout.split()[-1]
    with Queue(Config(), data) as q:
        url, _ = q()
        rsp = requests.post(f"{url}/api/cocci/series/{series_id}/state/", timeout=30,
                            json={"state": "accepted"},
                            headers={"Authorization": f"Token {token}"})
        assert rsp.status_code == 200, rsp.text
