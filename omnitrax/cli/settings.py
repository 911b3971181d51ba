"""`omnitrax settings`: print (or write) the full default settings file, exactly what `batch --settings`
reads and Blender's Save Settings writes."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("settings", help="print the default settings file (TOML), to edit for batches",
                              description="Print every setting with its default, as TOML; names as in "
                                          "Blender's OmniTrax panel.")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write it to this .toml/.yaml file instead of printing it")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..settings_file import default_settings_text, write_settings
    from ..tracking.settings import TrackingSettings

    if args.out:
        path = write_settings(args.out, TrackingSettings())
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(default_settings_text())
    return 0
