"""Config fragments: parse one, and check which of its symbols stuck in a final .config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import UserError

SET_RE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
UNSET_RE = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")
NOT_SET = "n"


@dataclass(frozen=True)
class Mismatch:
    symbol: str
    wanted: str
    got: str

    def __str__(self) -> str:
        return f"{self.symbol}={self.wanted} (got {self.symbol}={self.got})"


def parse(text: str) -> dict[str, str]:
    """{symbol: value} of a fragment or .config; `# CONFIG_X is not set` gives "n"."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if m := SET_RE.match(line):
            values[m[1]] = m[2]
        elif m := UNSET_RE.match(line):
            values[m[1]] = NOT_SET
    return values


def mismatches(wanted: dict[str, str], final: dict[str, str]) -> list[Mismatch]:
    """Fragment symbols whose value did not survive olddefconfig."""
    return [Mismatch(sym, value, final.get(sym, NOT_SET))
            for sym, value in wanted.items() if final.get(sym, NOT_SET) != value]


def load(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"config fragment {path} not found: pass --fragment FILE or a "
                        "--campaign whose folder has kernel.config") from None
    values = parse(text)
    if not values:
        raise UserError(f"config fragment {path} sets no CONFIG_ symbol: add lines such as "
                        "CONFIG_KVM=y")
    return values
