"""The two error families (plus the check verdict) and the exit codes they map to.

Only bot/cli.py turns these into exit codes; library code raises them with a
message that says what to do about it.
"""

from __future__ import annotations


class CocciBotError(Exception):
    """Base of every error the CLI reports as one line."""

    exit_code = 3


class UserError(CocciBotError):
    """Bad input: the message names the fix (exit 2)."""

    exit_code = 2


class InfraError(CocciBotError):
    """A tool or a service failed (exit 3)."""

    exit_code = 3


class CheckFailed(CocciBotError):
    """The thing being checked failed: build broke, boot failed (exit 1)."""

    exit_code = 1


class JobBusy(CocciBotError):
    """Another process holds the job's lock (not an error of the job: it is being run)."""


EXIT_OK = 0
EXIT_FAILED = CheckFailed.exit_code
EXIT_USAGE = UserError.exit_code
EXIT_INFRA = InfraError.exit_code
