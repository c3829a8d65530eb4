from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot import proc
from bot.errors import InfraError


def running(pid: int) -> bool:
    """True while pid is a live process (a zombie nobody reaped yet counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_run_returns_output_and_code():
    res = proc.run(["sh", "-c", "echo out; echo err >&2; exit 0"])
    assert res.ok and res.stdout == "out\n" and res.stderr == "err\n"


def test_run_check_raises_with_tail():
    with pytest.raises(InfraError, match=r"sh failed \(exit 4\).*boom"):
        proc.run(["sh", "-c", "echo boom >&2; exit 4"])


def test_run_unchecked_failure_is_a_result():
    assert proc.run(["false"], check=False).returncode == 1


def test_missing_program_names_the_fix():
    with pytest.raises(InfraError, match="spatch not found: install Coccinelle"):
        proc.run(["spatch", "--version"], env={"PATH": "/nonexistent"})


def test_timeout_kills_the_whole_group(tmp_path: Path):
    pidfile = tmp_path / "child.pid"
    # the child outlives the shell unless the whole group is killed
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    start = time.monotonic()
    with pytest.raises(proc.ProcTimeout, match="did not finish within 1 s"):
        proc.run(["sh", "-c", script], timeout=1)
    assert time.monotonic() - start < 15
    child = int(pidfile.read_text())
    for _ in range(50):
        if not running(child):
            break
        time.sleep(0.1)
    assert not running(child), "background child survived the timeout"


def test_log_path_collects_output(tmp_path: Path):
    logf = tmp_path / "logs" / "x.log"
    proc.run(["echo", "hello"], log_path=logf)
    text = logf.read_text()
    assert "$ echo hello" in text and "hello" in text and "[exit 0]" in text


def test_spawn_kills_group_on_exception(tmp_path: Path):
    pidfile = tmp_path / "pid"
    with pytest.raises(RuntimeError), proc.spawn(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]) as p:
        for _ in range(50):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.1)
        raise RuntimeError("caller failed")
    assert p.poll() is not None
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not running(child)


def test_cmdline_quotes_for_humans():
    assert proc.cmdline(["git", "commit", "-m", "a b"]) == "git commit -m 'a b'"
    assert os.fspath(Path("x")) == "x"


def test_ctrl_c_while_the_child_starts_kills_it(tmp_path: Path, monkeypatch):
    """A SIGINT that arrives inside Popen (child forked, pid not yet returned) must not leak it."""
    import signal
    import subprocess

    real = subprocess.Popen
    started: list[int] = []

    def popen_then_interrupt(*args, **kwargs):
        child = real(*args, **kwargs)
        started.append(child.pid)
        os.kill(os.getpid(), signal.SIGINT)   # as if Ctrl-C landed before Popen returned
        return child

    monkeypatch.setattr(subprocess, "Popen", popen_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        proc.run(["sleep", "60"], timeout=120)
    for _ in range(50):
        if not running(started[0]):
            break
        time.sleep(0.1)
    assert not running(started[0]), "child started during the interrupt survived"
