"""What every command shares: one-line argument errors, flags made from the settings schema, progress."""
from __future__ import annotations

import argparse
import sys
import time

from ..errors import OmniTraxError


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line (`omnitrax: error: ...`), not a usage dump."""

    def error(self, message):
        self.exit(2, f"omnitrax: error: {message} (see `{self.prog} --help`)\n")


def add_setting_flags(p: argparse.ArgumentParser, settings) -> None:
    """One flag per schema setting (omnitrax.settings), grouped as in Blender's panel.

    Values are checked by the schema when the settings are built, so the messages match the panel's
    and the settings files'.
    """
    groups = {}
    for s in settings:
        g = groups.get(s.group) or groups.setdefault(s.group, p.add_argument_group(s.group))
        help_text = s.help + (f" [{s.range_text()}]" if s.min is not None else "")
        if s.kind is bool:
            g.add_argument(s.cli_flag, dest=s.name, action=argparse.BooleanOptionalAction, default=s.default,
                           help=help_text + f" (default: {'on' if s.default else 'off'})")
        elif s.choices:
            g.add_argument(s.cli_flag, dest=s.name, choices=s.values, default=s.default, type=str.lower,
                           help=help_text)
        elif s.kind is str:
            g.add_argument(s.cli_flag, dest=s.name, default=s.default, help=help_text,
                           metavar="FILE" if s.path == "file" else "DIR" if s.path else None)
        else:
            g.add_argument(s.cli_flag, dest=s.name, type=flag_type(s), default=s.default, help=help_text,
                           metavar=s.unit.upper().replace(" ", "_") or None)


def flag_type(setting):
    """argparse type for a schema setting: converts and checks, so a bad value stops before any work."""
    def parse(text: str):
        try:
            value = float(text)  # check() turns it into the setting's type (refusing 2.5 for a count)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        try:
            return setting.check(value)
        except OmniTraxError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = setting.name
    return parse


class ProgressPrinter:
    """A one-line progress bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream  # looked up now: callers may redirect it
        self.tty = self.stream.isatty()
        self.last = 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        if p.done != p.total and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        width = 30
        filled = int(width * p.done / max(p.total, 1))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {p.text()}"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if p.done == p.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def output_folder(path):
    """The --out folder, made and checked for writing now, before any video is read."""
    from ..files import ensure_folder

    return ensure_folder(path, what="output folder", writable=True)
