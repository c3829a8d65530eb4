"""`cocci-bot apply`: placeholder registration, filled in by the apply stage."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("apply", parents=[common], help="run a campaign on a tree")
    p.add_argument("--tree", type=str, required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return 0
