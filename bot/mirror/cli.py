"""`cocci-bot mirror`: build or extend a git repository of kernel releases from Debian's packages.

    cocci-bot mirror 5.10.223 5.10.46        # tags v5.10.46 and v5.10.223, in version order
    cocci-bot mirror --list                  # what the apt sources offer, what is present
    cocci-bot mirror --tarball linux-4.20.1.tar.xz [--tag v4.20.1]   # any kernel source tarball
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import defaults
from bot.errors import UserError
from bot.log import progress
from bot.mirror import stage
from bot.mirror.tarball import mirror_tarball
from bot.mirror.versions import parse_request


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "mirror", parents=[common],
        help="make or extend a git mirror of kernel releases from Debian's packages",
        description="Import kernel releases from Debian's packages (linux-source-X.Y .debs, "
                    "or the orig tarball of the linux source package for early releases) into "
                    "a git repository: one commit per release in version order, tagged vX.Y.Z. "
                    "Downloads are cached; releases already present are skipped.")
    p.add_argument("--repo", type=Path, default=None,
                   help="the mirror repository (default: DATA_DIR/mirrors/debian-linux.git, "
                        "created bare when missing)")
    p.add_argument("--list", action="store_true",
                   help="list the versions the configured apt sources offer and which are present")
    p.add_argument("--tarball", type=Path, default=None, metavar="FILE",
                   help="import a kernel source tarball (linux-X.Y.Z.tar.xz, a vendor tree) "
                        "instead of a Debian package; its version comes from its Makefile")
    p.add_argument("--tag", default=None, metavar="vX.Y.Z",
                   help="with --tarball: the release's tag, when its Makefile's version is "
                        "not the one to use (an EXTRAVERSION, a vendor bump)")
    p.add_argument("versions", nargs="*", metavar="VERSION",
                   help="kernel release like 5.10.223 (latest Debian revision) or 5.10.223-1")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    repo_path = (args.repo or args.data_dir / defaults.MIRROR_REPO).absolute()
    if args.tag is not None and args.tarball is None:
        raise UserError("--tag goes with --tarball FILE (Debian releases are tagged by version)")
    if args.tarball is not None:
        if args.list or args.versions:
            raise UserError("--tarball imports one tarball: pass VERSIONs or --list in "
                            "another cocci-bot mirror run")
        done = mirror_tarball(args.tarball.absolute(), repo_path, args.data_dir, args.tag)
        progress("mirror", done.line())
        return 0
    if args.list:
        if args.versions:
            raise UserError("--list takes no VERSION: run cocci-bot mirror --list, "
                            "then cocci-bot mirror VERSION...")
        for row in stage.listing(repo_path):
            state = f"present ({row.present})" if row.present else (
                "cached" if row.cached else "")
            line = (f"{row.offer.upstream!s:<12} {row.offer.package:<18} "
                    f"{row.offer.version:<20} {row.offer.kind:<7} {state}")
            sys.stdout.write(line.rstrip() + "\n")
        return 0
    if not args.versions:
        raise UserError("no VERSION given: pass releases like 5.10.223 "
                        "(cocci-bot mirror --list shows what is on offer)")
    requests = [parse_request(v) for v in args.versions]
    summary = stage.mirror(requests, repo_path, args.data_dir)
    progress("mirror", summary.line())
    return 0
