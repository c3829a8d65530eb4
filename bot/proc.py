"""The one door to external programs.

Every program cocci-bot runs goes through `run` (wait for it) or `spawn` (keep it
running inside a `with`): argv lists only, an explicit cwd, a timeout, its own
process group so that a timeout or Ctrl-C kills it and all its children, and
optionally its output copied to a log file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import defaults
from bot.errors import InfraError, ToolFailed

log = logging.getLogger(__name__)

# How to get a missing program, named in the error message.
INSTALL_HINTS = {
    "spatch": "install Coccinelle: apt-get install coccinelle (or run deploy/setup.sh)",
    "git": "install git: apt-get install git (or run deploy/setup.sh)",
    "qemu-system-x86_64": "install QEMU: apt-get install qemu-system-x86 (or run deploy/setup.sh)",
    "busybox": "install busybox: apt-get install busybox-static (or run deploy/setup.sh)",
    "apt-get": "cocci-bot mirror needs a Debian-based system with apt",
    "dpkg-deb": "install dpkg: apt-get install dpkg",
    "make": "install the kernel build tools: run deploy/setup.sh",
    "gcc": "install the kernel build tools: run deploy/setup.sh",
    "tuxmake": "install cocci-bot's Python dependencies: run deploy/setup.sh",
}


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 5) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " | ".join(text[-lines:])


class ProcTimeout(InfraError):
    """The program ran past its timeout and was killed (with its whole group)."""

    def __init__(self, argv: Sequence[str], timeout: float, stdout: str = "", stderr: str = ""):
        super().__init__(f"{Path(argv[0]).name} did not finish within {timeout:g} s and was killed: "
                         f"{cmdline(argv)}")
        self.argv = tuple(argv)
        self.timeout = timeout
        self.stdout = stdout
        self.stderr = stderr


def cmdline(argv: Sequence[str]) -> str:
    """A copy-pasteable rendering of argv, for logs and reproducers (never executed)."""
    return shlex.join(str(a) for a in argv)


def missing_tool(program: str) -> InfraError:
    name = Path(program).name
    hint = INSTALL_HINTS.get(name, f"install {name} or put it on PATH")
    return InfraError(f"{name} not found: {hint}")


def kill_group(proc: subprocess.Popen[str] | subprocess.Popen[bytes], grace: float = 2.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after `grace` seconds."""
    if proc.poll() is not None and not _group_alive(proc.pid):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if not _group_alive(proc.pid):
            return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _unblock_in_child() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)


def _popen(args: list[str], **kwargs: Any) -> subprocess.Popen:
    """Popen in a new session; the child gets the normal signal mask back before exec."""
    return subprocess.Popen(args, start_new_session=True, preexec_fn=_unblock_in_child, **kwargs)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C/SIGTERM until the caller calls release() inside its kill-on-error block.

    An interrupt that lands while Popen is still starting the child would otherwise leave a
    child nobody kills; held, it fires at release(), where the caller's cleanup runs.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    try:
        yield release
    finally:
        release()


def _env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    merged.update(env)
    return merged


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = defaults.TIMEOUT_DEFAULT,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
    log_path: Path | None = None,
) -> Result:
    """Run argv to completion and return its output.

    check=True raises InfraError when the program exits non-zero (message: the
    command and the tail of its stderr); callers that interpret failures pass
    check=False. A timeout kills the whole process group and raises ProcTimeout.
    """
    args = [os.fspath(a) for a in argv]
    log.debug("run: %s (cwd=%s, timeout=%s)", cmdline(args), cwd, timeout)
    start = time.monotonic()
    with _interrupts_held() as release:
        try:
            proc = _popen(
                args, cwd=cwd, env=_env(env), text=True, errors="replace",
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            if cwd is not None and not Path(cwd).is_dir():
                raise InfraError(f"working directory {cwd} does not exist") from exc
            raise missing_tool(args[0]) from exc
        return _wait(proc, args, release, input, timeout, log_path, check, start)


def _wait(proc: subprocess.Popen, args: list[str], release: Callable[[], None],
          input: str | None, timeout: float, log_path: Path | None, check: bool,
          start: float) -> Result:
    try:
        release()   # a Ctrl-C held while the child started fires here, and kills it
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        kill_group(proc)
        out, err = proc.communicate()
        _write_log(log_path, args, out, err, None)
        raise ProcTimeout(args, timeout, out or "", err or "") from exc
    except BaseException:
        kill_group(proc)
        raise
    finally:
        # children that outlived their parent (daemonised helpers) die with it
        if _group_alive(proc.pid):
            kill_group(proc, grace=0.5)
    result = Result(tuple(args), proc.returncode, out, err, time.monotonic() - start)
    _write_log(log_path, args, out, err, proc.returncode)
    if check and not result.ok:
        raise ToolFailed(f"{Path(args[0]).name} failed (exit {result.returncode}): "
                         f"{cmdline(args)}: {result.tail()}", result.returncode)
    return result


def _write_log(path: Path | None, argv: Sequence[str], out: str, err: str,
               rc: int | None) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    status = f"[exit {rc}]\n" if rc is not None else "[killed: timeout]\n"
    with path.open("a", encoding="utf-8") as fh:   # one write: concurrent runs do not interleave
        fh.write(f"$ {cmdline(argv)}\n{out}{err}{status}")


@contextlib.contextmanager
def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Path | None = None,
    stdin_pipe: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a long-running program (QEMU, a server) in its own process group.

    Whatever happens inside the `with` — normal exit, exception, Ctrl-C — the
    whole group is killed on the way out. Output goes to `stdout` (a file) or
    is discarded.
    """
    args = [os.fspath(a) for a in argv]
    log.debug("spawn: %s", cmdline(args))
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(stdout.open("wb")) if stdout else subprocess.DEVNULL
        release = stack.enter_context(_interrupts_held())
        try:
            proc = _popen(
                args, cwd=cwd, env=_env(env), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise missing_tool(args[0]) from exc
        try:
            release()
            yield proc
        finally:
            kill_group(proc)


def which(program: str) -> str | None:
    """Where `program` is on PATH, or None."""
    return shutil.which(program)
