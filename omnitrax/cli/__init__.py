"""`omnitrax` / `python -m omnitrax`: the headless pipeline for scripts and batches (bpy-free).

One module per command; each has `register(subparsers)`, which adds its parser(s) with `func=` set.
User mistakes raise OmniTraxError, printed here as one line (`omnitrax: error: ...`), exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import OmniTraxError

#: the command modules, in the order `--help` lists them
COMMANDS = ("track", "detect_preview", "evaluate", "pose", "datasets", "batch", "settings", "convert_darknet")


def build_parser() -> argparse.ArgumentParser:
    from .common import Parser

    parser = Parser(prog="omnitrax", description="OmniTrax: multi-animal tracking and pose estimation.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OmniTraxError as exc:
        print(f"omnitrax: error: {exc}", file=sys.stderr)
        return 2
