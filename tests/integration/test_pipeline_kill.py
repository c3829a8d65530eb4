"""Kill -9 of `cocci-bot run` in each stage, then a restart: the same final result, one post,
no stale lock, worktree or program left running. Real processes throughout: the bot is a
subprocess, killed with SIGKILL while a real child (spatch, make, the queue) is mid-way; a
PATH shim only holds that child long enough to kill the bot."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bot_setup
import pytest
import requests
from bot_setup import BOT, accept, bot_toml, queue_series, run_argv

from bot.pipeline import reaper


def start(cfg: Path, data: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([*BOT, *run_argv(cfg, data)], stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), start_new_session=True)


def rerun(cfg: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*BOT, *run_argv(cfg, data)], capture_output=True, text=True,
                          timeout=600)


def run_json(data: Path) -> dict:
    """Job 1's run.json; {} while there is none (or it is being written)."""
    try:
        return bot_setup.run_json(data)
    except (OSError, ValueError):
        return {}


def wait_until(what, timeout: float = 180, why: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if what():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {why}")


def kill9_in(bot: subprocess.Popen, data: Path, stage: str, held: Path, log: Path) -> None:
    """Wait until `stage` is RUNNING and its held child started, then SIGKILL the bot alone."""
    def ready() -> bool:
        if bot.poll() is not None:
            raise AssertionError(f"the bot ended early ({bot.returncode}): {log.read_text()}")
        rec = run_json(data).get("stages", {}).get(stage, {})
        return rec.get("status") == "RUNNING" and held.exists()

    wait_until(ready, why=f"{stage} to be running")
    os.kill(bot.pid, signal.SIGKILL)
    bot.wait(timeout=30)
    assert reaper.orphans(data), "the killed bot left nothing running: the test proves nothing"


def holding_shim(shim_path, name: str, held: Path, action: str = "exec sleep 600") -> None:
    """`name` on PATH: the first real call (not --version) is held; later ones run the real
    program."""
    real = shutil.which(name)
    assert real, f"{name} is not installed"
    shim_path(name, f"""#!/bin/sh
case " $* " in *" --version "*) exec {real} "$@";; esac
if [ ! -e {held} ]; then : > {held}; {action}; fi
exec {real} "$@"
""")


def final(data: Path) -> dict:
    state = run_json(data)
    return {"status": state["status"],
            "stages": {k: (v["status"], v.get("why")) for k, v in state["stages"].items()}}


def assert_clean(data: Path, tree: Path) -> None:
    assert reaper.orphans(data) == []
    left = list((data / "worktrees").glob("*")) if (data / "worktrees").exists() else []
    assert left == [], left
    listed = subprocess.run(["git", "-C", str(tree), "worktree", "list", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    worktrees = [line for line in listed.splitlines() if line.startswith("worktree ")]
    assert all("build-work" in w for w in worktrees[1:]), worktrees


def reference(tmp_path: Path, tree: Path, build: bool = False) -> dict:
    """The same job run once, never killed, in a data dir of its own."""
    data = tmp_path / "reference"
    res = rerun(bot_toml(tmp_path / "ref.toml", tree, build=build), data)
    assert res.returncode in (0, 1, 3), res.stderr
    return final(data)


def test_kill9_during_apply(tmp_path: Path, fake_kernel_tree: Path, shim_path):
    data, held = tmp_path / "data", tmp_path / "held"
    holding_shim(shim_path, "spatch", held)
    cfg = bot_toml(tmp_path / "bot.toml", fake_kernel_tree)
    kill9_in(start(cfg, data, tmp_path / "bot.log"), data, "apply", held, tmp_path / "bot.log")
    assert list((data / "worktrees").glob("*")), "apply's worktree should be there mid-way"
    res = rerun(cfg, data)
    assert res.returncode == 0, res.stderr
    assert "a killed run left running: " in res.stderr and "sleep" in res.stderr
    assert "removing the worktree" in res.stderr
    assert final(data) == reference(tmp_path, fake_kernel_tree)
    assert_clean(data, fake_kernel_tree)
    assert len(queue_series(data)) == 1


def test_kill9_during_build(tmp_path: Path, fake_kernel_tree: Path, shim_path):
    """make (under tuxmake) is held; the restart kills tuxmake and make and builds again."""
    tree = fake_kernel_tree   # tuxmake takes a tree with Makefile, Kconfig and Kbuild
    (tree / "Makefile").write_text("%:\n\t@echo 'a kernel-shaped test tree' >&2; exit 2\n")
    (tree / "Kconfig").write_text("")
    (tree / "Kbuild").write_text("")
    for argv in (["add", "-A"], ["commit", "-qm", "kbuild files"], ["tag", "-f", "v5.10.1"]):
        subprocess.run(["git", "-C", str(tree), *argv], check=True, capture_output=True)
    data, held = tmp_path / "data", tmp_path / "held"
    holding_shim(shim_path, "make", held)
    cfg = bot_toml(tmp_path / "bot.toml", tree, build=True)
    kill9_in(start(cfg, data, tmp_path / "bot.log"), data, "build", held, tmp_path / "bot.log")
    killed = {name for _pid, name in reaper.orphans(data)}
    assert "sleep" in killed and any("python" in k or "tuxmake" in k for k in killed), killed
    res = rerun(cfg, data)
    assert "a killed run left running" in res.stderr, res.stderr
    # the toy Makefile makes no config: an ERROR, the same as a run never killed
    assert final(data) == reference(tmp_path, tree, build=True)
    assert final(data)["stages"]["build"][0] == "ERROR"
    assert "could not generate the kernel config" in run_json(data)["stages"]["build"]["error"]
    assert_clean(data, tree)


class _HoldingProxy(BaseHTTPRequestHandler):
    """Forwards to the real queue; while `hold` is set, a series POST reaches the queue but
    its answer never comes back (the response a kill loses)."""

    upstream = ""
    hold = threading.Event()
    forwarded = threading.Event()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        rsp = requests.request(self.command, self.upstream + self.path, data=body,
                               headers=headers, timeout=60)
        if self.hold.is_set() and self.command == "POST" and "/api/cocci/series/" in self.path:
            self.forwarded.set()
            time.sleep(600)
            return
        self.send_response(rsp.status_code)
        for k, v in rsp.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                 "content-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(rsp.content)))
        self.end_headers()
        self.wfile.write(rsp.content)

    do_GET = do_POST = do_PATCH = _forward

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def queue_behind_proxy(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A real `cocci-bot serve` (gunicorn) and a proxy in front of it: (proxy url, bot token,
    data dir)."""
    from bot.pipeline.queue import free_port, wait_ready

    data = tmp_path / "data"
    token = subprocess.run([*BOT, "serve", "--create-token", "bot", "cocci-bot", "--data-dir",
                            str(data)], capture_output=True, text=True, check=True,
                           timeout=120).stdout.split()[-1]
    subprocess.run([*BOT, "serve", "--create-project", "small-linux", "--data-dir", str(data)],
                   check=True, capture_output=True, timeout=120)
    port = free_port(0)
    log = tmp_path / "serve.log"
    server = subprocess.Popen([*BOT, "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--data-dir", str(data)], stdout=log.open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _HoldingProxy)
    proxy.daemon_threads = True
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, log)
        _HoldingProxy.upstream = f"http://127.0.0.1:{port}"
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{proxy.server_address[1]}", token, data
    finally:
        proxy.shutdown()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_kill9_during_post_after_the_queue_took_the_series(
        tmp_path: Path, fake_kernel_tree: Path, queue_behind_proxy, monkeypatch):
    """The queue stored the series but the bot died before it heard back: the restart posts
    again, the queue answers with the series it has; one series, one set of checks."""
    url, token, data = queue_behind_proxy
    monkeypatch.setenv("TEST_QUEUE_TOKEN", token)
    cfg = bot_toml(tmp_path / "bot.toml", fake_kernel_tree, queue=url)
    _HoldingProxy.hold.set()
    log = tmp_path / "bot.log"
    bot = start(cfg, data, log)
    wait_until(lambda: _HoldingProxy.forwarded.is_set() or bot.poll() is not None,
               why="the series POST")
    assert bot.poll() is None, log.read_text()
    assert run_json(data)["stages"]["post"]["status"] == "RUNNING"
    os.kill(bot.pid, signal.SIGKILL)
    bot.wait(timeout=30)
    _HoldingProxy.hold.clear()
    res = rerun(cfg, data)
    assert res.returncode == 0, res.stderr
    assert "already had series" in res.stderr
    series = requests.get(f"{url}/api/1.2/series/", timeout=10).json()
    assert len(series) == 1
    checks = requests.get(f"{url}/api/1.2/series/{series[0]['id']}/checks/", timeout=10).json()
    assert len(checks) == len({c["context"] for c in checks})
    state = run_json(data)
    assert state["stages"]["post"]["series_id"] == series[0]["id"]
    assert state["stages"]["drafts"]["status"] == "WAITING"
    assert reaper.orphans(data) == []


def test_sigterm_records_the_stage_and_exits_cleanly(tmp_path: Path, fake_kernel_tree: Path,
                                                     shim_path):
    """systemd stops the bot with SIGTERM: the running stage is recorded as interrupted, the
    child is killed, exit 0; the next run finishes the job."""
    data, held = tmp_path / "data", tmp_path / "held"
    holding_shim(shim_path, "spatch", held)
    cfg = bot_toml(tmp_path / "bot.toml", fake_kernel_tree)
    log = tmp_path / "bot.log"
    bot = start(cfg, data, log)
    wait_until(lambda: held.exists() and run_json(data).get("stages", {}).get("apply"),
               why="apply to start")
    bot.send_signal(signal.SIGTERM)
    assert bot.wait(timeout=60) == 0, log.read_text()
    assert "stopped by SIGTERM" in log.read_text()
    apply = run_json(data)["stages"]["apply"]
    assert (apply["status"], apply["exit"]) == ("ERROR", 130) and "interrupted" in apply["error"]
    assert reaper.orphans(data) == [] and not list((data / "worktrees").glob("*"))
    res = rerun(cfg, data)
    assert res.returncode == 0, res.stderr
    assert run_json(data)["stages"]["apply"]["status"] == "PASS"


def _seed_patched_kernel(data: Path, kernel: Path) -> None:
    """run.json as if the build had passed (a real build takes minutes): boot is next."""
    state = run_json(data)
    state["stages"]["build"] = {"status": "PASS", "kernel": str(kernel)}
    state["stages"].pop("boot")
    (data / "runs" / "1" / "run.json").write_text(json.dumps(state))


def test_kill9_during_boot(tmp_path: Path, fake_kernel_tree: Path, shim_path):
    """QEMU is held; the restart kills it and boots again. The kernel is not one (a real build
    takes minutes): the boot ends in ERROR, the same as a boot never killed."""
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"not a kernel\n" * 64)
    cfg_first = bot_toml(tmp_path / "first.toml", fake_kernel_tree)
    cfg = bot_toml(tmp_path / "boot.toml", fake_kernel_tree, boot=True)
    results = []
    for data, kill in ((tmp_path / "data", True), (tmp_path / "reference", False)):
        first = rerun(cfg_first, data)
        assert first.returncode == 0, first.stderr
        _seed_patched_kernel(data, kernel)
        held = tmp_path / "held"
        if kill:
            holding_shim(shim_path, "qemu-system-x86_64", held)
            log = tmp_path / "bot.log"
            kill9_in(start(cfg, data, log), data, "boot", held, log)
            assert "qemu-system-x86_64" in {n for _p, n in reaper.orphans(data)} or \
                "sleep" in {n for _p, n in reaper.orphans(data)}
        res = rerun(cfg, data)
        assert res.returncode == 3, res.stderr
        assert reaper.orphans(data) == []
        results.append(final(data))
        assert results[-1]["stages"]["boot"][0] == "ERROR"
    assert results[0] == results[1]


def test_kill9_during_drafts(tmp_path: Path, fake_kernel_tree: Path, shim_path):
    data, held = tmp_path / "data", tmp_path / "held"
    cfg = bot_toml(tmp_path / "bot.toml", fake_kernel_tree)
    first = rerun(cfg, data)
    assert first.returncode == 0, first.stderr
    accept(data, run_json(data)["stages"]["post"]["series_id"])
    real = shutil.which("git")
    shim_path("git", f"""#!/bin/sh
case " $* " in *" --cover-letter "*) if [ ! -e {held} ]; then : > {held}; exec sleep 600; fi;;
esac
exec {real} "$@"
""")
    log = tmp_path / "bot.log"
    kill9_in(start(cfg, data, log), data, "drafts", held, log)
    res = rerun(cfg, data)
    assert res.returncode == 0, res.stderr
    drafts = run_json(data)["stages"]["drafts"]
    assert (drafts["status"], drafts["files"]) == ("PASS", 3)
    made = sorted(p.name[:4] for p in (data / "runs" / "1" / "drafts").iterdir())
    assert made == ["0000", "0001", "0002"]
    assert reaper.orphans(data) == []
    assert len(queue_series(data)) == 1


def test_kill9_while_watching_leaves_no_queue_behind(tmp_path: Path, fake_kernel_tree: Path):
    """`run --watch` keeps the embedded queue (gunicorn) up; killed with SIGKILL, it cannot stop
    it: the next run does."""
    data, log = tmp_path / "data", tmp_path / "bot.log"
    cfg = bot_toml(tmp_path / "bot.toml", fake_kernel_tree)
    bot = subprocess.Popen([*BOT, *run_argv(cfg, data, "--watch", "3600")],
                           stdout=subprocess.DEVNULL, stderr=log.open("w"),
                           start_new_session=True)
    wait_until(lambda: "next look in 3600 s" in log.read_text() or bot.poll() is not None,
               why="the first cycle")
    assert bot.poll() is None, log.read_text()
    os.kill(bot.pid, signal.SIGKILL)
    bot.wait(timeout=30)
    assert any("gunicorn" in name or "python" in name for _pid, name in reaper.orphans(data))
    res = rerun(cfg, data)
    assert res.returncode == 0, res.stderr
    assert "a killed run left running" in res.stderr
    assert reaper.orphans(data) == []
    assert len(queue_series(data)) == 1
