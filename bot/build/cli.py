"""`cocci-bot build`: placeholder until the build stage lands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("build", parents=[common], help="build base and patched kernels")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return 0
