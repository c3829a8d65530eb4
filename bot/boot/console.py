"""Reading what a guest left behind: the console (scanned for bad lines) and the verdict
channel (the second serial port, where only the guest's init writes "cocci-bot: ..." lines).

`judge` turns one finished QEMU run into an Outcome; it is pure, so every verdict rule is
tested on text.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

CHANNEL_PREFIX = "cocci-bot: "

# (name, pattern): any console line matching one of these fails the boot
BAD_LINE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("panic", r"Kernel panic\b"),
        ("oops", r"\bOops\b|general protection fault|BUG: unable to handle"),
        ("bug", r"\bBUG:|kernel BUG at"),
        ("warning", r"\bWARNING: (?:CPU: |at )"),
        ("kasan", r"\bKASAN\b"),
        ("soft-lockup", r"soft lockup"),
        ("hard-lockup", r"hard LOCKUP"),
        ("hung-task", r"blocked for more than \d+ seconds"),
        ("rcu-stall", r"rcu_sched self-detected stall|rcu: INFO: .* stall"),
    )
)
MAX_QUOTED = 20
KERNEL_STARTED = "Linux version"
# the guest kernel found no TSC frequency: its KVM then never enters a guest (bot/boot/qemu.py)
TSC_UNCALIBRATED = re.compile(r"could not calculate TSC khz")
TSC_STALL_CAUSE = ("the guest kernel could not calibrate its TSC (tsc_khz = 0), so its KVM "
                   "re-requests a clock update on every entry and never runs the guest")


@dataclass(frozen=True)
class Channel:
    """What the guest reported on the verdict channel."""

    begun: bool = False
    ended: bool = False
    facts: dict[str, str] = field(default_factory=dict)   # key=value lines (last wins)
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    verdict: str                 # pass | fail | infra-error
    reason: str
    kvm_smoke: str               # pass | fail | skipped
    first_bad_line: str | None
    bad_lines: tuple[str, ...] = ()
    guest_kernel: str | None = None
    smoke_stalls: int = 0          # smoke tries that never reached HLT and were retried
    tsc_calibrated: bool = True    # False: the console shows the guest kernel without tsc_khz
    dax: str = "skipped"           # the DAX check (guest/kvm-dax.c): pass | fail | skipped
    dax_reason: str = "not requested"

    @property
    def infra(self) -> bool:
        return self.verdict == "infra-error"

    @property
    def smoke_stalled(self) -> bool:
        """Failed only because the smoke's KVM_RUN never reached HLT (no bad console line)."""
        return self.verdict == "fail" and self.smoke_stalls > 0 and not self.bad_lines \
            and self.kvm_smoke == "fail"


def clean_lines(text: str) -> list[str]:
    return [line.rstrip("\r\n").replace("\r", "") for line in text.splitlines()]


def bad_lines(console: str) -> list[str]:
    """Console lines that show the kernel in trouble, in order, stripped of CR."""
    found = []
    for line in clean_lines(console):
        if line.startswith(CHANNEL_PREFIX):
            continue          # the guest's own lines echoed on the console
        if any(p.search(line) for _, p in BAD_LINE_PATTERNS):
            found.append(line.strip())
    return found


def tsc_calibrated(console: str) -> bool:
    return TSC_UNCALIBRATED.search(console) is None


def parse_channel(text: str) -> Channel:
    facts: dict[str, str] = {}
    lines = []
    begun = ended = False
    for line in clean_lines(text):
        if not line.startswith(CHANNEL_PREFIX):
            continue
        body = line[len(CHANNEL_PREFIX):].strip()
        lines.append(body)
        begun = begun or body == "begin"
        ended = ended or body == "end"
        key, sep, value = body.partition("=")
        if sep and " " not in key:
            facts[key] = value
    return Channel(begun, ended, facts, tuple(lines))


def smoke_result(channel: Channel, smoke_wanted: bool) -> tuple[str, str]:
    """(kvm_smoke, reason) from the channel."""
    if not smoke_wanted:
        return "skipped", "KVM smoke test skipped (--skip-kvm-smoke)"
    if channel.facts.get("dev_kvm") == "missing":
        return "fail", "the guest has no /dev/kvm (kernel without KVM, or a CPU without SVM/VMX)"
    value = channel.facts.get("kvm_smoke")
    if value is None:
        return "fail", "the KVM smoke program reported nothing"
    if value == "pass":
        return "pass", "KVM smoke test passed"
    return "fail", f"KVM smoke test failed: {value}"


DAX_STATES = ("pass", "fail", "skipped")


def dax_result(channel: Channel, wanted: bool, boot_reason: str) -> tuple[str, str]:
    """(dax, reason) from the channel: what the DAX program said, or why it said nothing."""
    if not wanted:
        return "skipped", "DAX check not requested"
    value = channel.facts.get("dax")
    if value is not None:
        state, _, why = value.partition(" ")
        if state in DAX_STATES:
            return state, why or ("the guest's DAX memory was used by KVM and released; the "
                                  "DAX device went away when disabled")
        return "fail", f"the DAX program said {value!r}"
    if any(line.startswith("dax:") for line in channel.lines):
        return "fail", f"the guest stopped during the DAX check: {boot_reason}"
    if channel.ended:
        return "fail", "the DAX program reported nothing"
    return "skipped", f"the boot ended before the DAX check ran: {boot_reason}"


def judge(console: str, channel_text: str, *, returncode: int | None, timed_out: bool,
          deadline: float, smoke_wanted: bool = True, dax_wanted: bool = False) -> Outcome:
    """The verdict of one QEMU run (returncode None: QEMU was killed)."""
    channel = parse_channel(channel_text)
    outcome = _judge_boot(console, channel, returncode=returncode, timed_out=timed_out,
                          deadline=deadline, smoke_wanted=smoke_wanted)
    dax, why = dax_result(channel, dax_wanted and not outcome.infra, outcome.reason)
    return dataclasses.replace(outcome, dax=dax, dax_reason=why)


def _judge_boot(console: str, channel: Channel, *, returncode: int | None, timed_out: bool,
                deadline: float, smoke_wanted: bool) -> Outcome:
    bad = bad_lines(console)
    first = bad[0] if bad else None
    kernel = channel.facts.get("kernel")
    smoke, smoke_reason = smoke_result(channel, smoke_wanted)
    stalls = int(channel.facts.get("kvm_smoke_stall", "0") or 0)
    quoted = tuple(bad[:MAX_QUOTED])
    if timed_out:
        last = next((line.strip() for line in reversed(clean_lines(console)) if line.strip()), "")
        where = f" after {first!r}" if first else (f"; last console line: {last!r}" if last else "")
        return Outcome("fail", f"deadline of {deadline:g} s hit: the guest hung{where}", smoke,
                       first, quoted, kernel)
    if returncode not in (0, None):
        when = "while the guest ran" if KERNEL_STARTED in console else "before the kernel started"
        return Outcome("infra-error", f"QEMU exited with status {returncode} {when}",
                       "skipped", None, (), None)
    if bad:
        return Outcome("fail", f"{len(bad)} bad console line(s), first: {first}", smoke, first,
                       quoted, kernel)
    if not channel.ended:
        what = "the kernel never started" if KERNEL_STARTED not in console else \
            "the guest stopped before reporting its verdict"
        return Outcome("fail", what, smoke, None, (), kernel)
    tsc = tsc_calibrated(console)
    if smoke == "fail":
        if stalls and not tsc:
            smoke_reason += f" ({TSC_STALL_CAUSE})"
        return Outcome("fail", smoke_reason, smoke, None, (), kernel, stalls, tsc)
    if stalls:
        smoke_reason += f" (after {stalls} stalled tr{'y' if stalls == 1 else 'ies'})"
    return Outcome("pass", f"booted {kernel}; {smoke_reason}", smoke, None, (), kernel, stalls,
                   tsc)


def phase(console: str, channel_text: str) -> str:
    """Where a running guest stands: firmware, kernel, init, or the in-guest check it is in."""
    if KERNEL_STARTED not in console:
        return "firmware (no kernel line yet)"
    channel = parse_channel(channel_text)
    if not channel.begun:
        return "kernel booting"
    checks = [line for line in channel.lines if line not in ("begin", "end")]
    if channel.ended:
        return "guest done"
    if not checks:
        return "init started"
    return f"in-guest check: {checks[-1]}"
