"""The two error families (plus the check verdict) and the exit codes they map to.

Only bot/cli.py turns these into exit codes; library code raises them with a
message that says what to do about it. Where a caller must tell failures apart it catches a
named class below (as tuxmake's exceptions module does), never an exit-code integer; each
named class keeps its family's exit code.
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


class ConfigError(UserError):
    """bot.toml (or a file the bot keeps) is wrong: the message names the key and the fix."""


class QueueRefused(UserError):
    """The review queue refused a request (bad token, bad payload): fix the request."""


class ToolFailed(InfraError):
    """A program the bot runs failed (bot/proc.py); `returncode` is its exit status."""

    def __init__(self, message: str, returncode: int | None = None):
        super().__init__(message)
        self.returncode = returncode


class TreeUnavailable(InfraError):
    """A watched tree cannot be listed or lacks a commit (a remote down, a tag moved)."""


class QueueUnreachable(InfraError):
    """The review queue did not answer (down, wrong URL): the stage is retried."""


class StoreUnreachable(InfraError):
    """The job store (PostgreSQL) did not answer."""


class BrokerUnreachable(InfraError):
    """The workers' broker (Redis) did not answer or did not take a stage."""


class JobBusy(CocciBotError):
    """Another process holds the job's lock (not an error of the job: it is being run)."""


EXIT_OK = 0
EXIT_FAILED = CheckFailed.exit_code
EXIT_USAGE = UserError.exit_code
EXIT_INFRA = InfraError.exit_code
