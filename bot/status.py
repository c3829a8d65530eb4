"""The one status vocabulary: every JSON file the bot writes (report.json, build.json,
boot.json, run.json) and the job store say where a thing stands with a `Status`.

    PENDING   not started yet (a job the store has, no stage run)
    RUNNING   started, no result yet (a file written when its stage starts; a killed
              bot leaves this behind and the next run starts the stage again)
    PASS      the checked thing passed
    FAIL      the checked thing failed (a result: not retried)
    ERROR     the stage could not decide: a tool or a service failed, bad input
              (retried with growing back-off; the message says why)
    SKIPPED   not run, for a stated reason (nothing to build, disabled)
    WAITING   waiting for a person (the maintainer has not decided yet)

Each JSON file carries "schema": SCHEMA.  The review queue speaks Patchwork's check states
(success, warning, fail, pending); `check_state` is the one place that maps to them.
"""

from __future__ import annotations

import enum

from bot.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK

SCHEMA = 2     # 1: the mixed vocabularies before this module (null/running/pass/infra-error)


class Status(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"
    WAITING = "WAITING"

    @property
    def final(self) -> bool:
        """A result that stands: the stage is not run again."""
        return self in FINAL

    @classmethod
    def of(cls, value: object) -> Status:
        """Read a status from a file, schema 1 spellings included ("pass", "infra-error", null)."""
        if isinstance(value, Status):
            return value
        if value is None:
            return cls.RUNNING
        text = str(value).strip()
        return _LEGACY.get(text.lower()) or cls(text.upper())


FINAL = frozenset({Status.PASS, Status.FAIL, Status.SKIPPED})

_LEGACY = {"running": Status.RUNNING, "infra-error": Status.ERROR, "error": Status.ERROR,
           "new": Status.PENDING, "done": Status.PASS, "failed": Status.ERROR,
           "posted": Status.WAITING, "skip": Status.SKIPPED}

# the review queue's (Patchwork) check state for a stage's status
_CHECK_STATES = {Status.PASS: "success", Status.FAIL: "fail", Status.ERROR: "warning",
                 Status.SKIPPED: "warning", Status.WAITING: "pending",
                 Status.RUNNING: "pending", Status.PENDING: "pending"}


def check_state(status: object, *, warnings: bool = False) -> str:
    """Patchwork's check state for `status`; a PASS with warnings is "warning"."""
    state = _CHECK_STATES[Status.of(status)]
    return "warning" if state == "success" and warnings else state


def exit_code(status: object) -> int:
    """The CLI exit code that goes with a status: 0 pass, 1 fail, 3 could not decide."""
    st = Status.of(status)
    if st in (Status.PASS, Status.SKIPPED, Status.WAITING):
        return EXIT_OK
    return EXIT_FAILED if st is Status.FAIL else EXIT_INFRA
