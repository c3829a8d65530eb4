"""`cocci-bot` entry point.

main(argv) -> int is the only place that turns exceptions into exit codes:
0 success, 1 the checked thing failed, 2 usage or user error, 3 infrastructure error.

Each subcommand lives in its own module listed in COMMANDS; the module provides
`register(subparsers)` (cheap: no heavy imports) which adds its parser and sets
`func` to a `run(args) -> int` callable.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__, defaults, progress
from bot import log as botlog
from bot.errors import EXIT_INFRA, EXIT_USAGE, CocciBotError

# one stage per folder; each folder's cli.py registers its subcommand(s)
COMMANDS = (
    "bot.mirror.cli",
    "bot.apply.cli",
    "bot.build.cli",
    "bot.boot.cli",
    "bot.post.cli",
    "bot.drafts.cli",
    "bot.review.cli",
    "bot.pipeline.cli",
    "bot.workers.cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() keeps control of exit codes."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cocci-bot", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"cocci-bot {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="log every command run")
    common.add_argument("--quiet", action="store_true",
                        help="no progress lines for long work (mirror, build, boot)")
    common.add_argument("--data-dir", type=Path, default=None,
                        help=f"state directory (default: {defaults.data_dir()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    botlog.setup(debug=args.debug)
    progress.configure(quiet=args.quiet)
    # relative --data-dir: the caller's current directory, whatever a stage later runs in
    args.data_dir = (args.data_dir or defaults.data_dir()).absolute()
    try:
        return int(args.func(args))
    except CocciBotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        logging.getLogger("bot").debug("unexpected OS error", exc_info=True)
        print(f"error: {exc.strerror or exc}: {exc.filename or ''} "
              "(check the path and its permissions)", file=sys.stderr)
        return EXIT_INFRA


def entry() -> None:
    sys.exit(main())
