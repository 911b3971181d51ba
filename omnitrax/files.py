"""Output folders and files: make them, or say in one line why not and what to do.

The one owner of "create this output folder" and "write this file" for every writer (CLI, Blender
exports, datasets, settings): an OSError (a file where the folder should be, a folder where the file
should be, no permission, a full disk) becomes an OmniTraxError whose message is one line that names
the path, says what is wrong and what to do. Never a traceback or a Python exception name.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from .errors import OmniTraxError


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or "the operating system refused"


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing part of `path` (itself or a parent) that is not a folder, if any."""
    for part in [path, *path.parents]:
        if part.exists() or part.is_symlink():
            return None if part.is_dir() else part
    return None


def ensure_folder(path, what: str = "output folder", writable: bool = False, instead: str | None = None) -> Path:
    """Create the folder `path` (and its parents) unless it exists; return it as a Path.

    what:     how the message names the folder ("export folder", "output folder", ...).
    writable: also check that a file can be created in it (a temporary file, removed again), so a
              read-only folder is refused before any work starts.
    instead:  what the message asks to choose instead (default `what`; "folder" for sub-folders the
              user does not name).
    """
    path, other = Path(path), instead or what
    blocker = _file_in_the_way(path)
    if blocker == path:
        raise OmniTraxError(f"The {what} '{path}' is a file, not a folder: move that file away or choose "
                            f"another {other}.")
    if blocker is not None:
        raise OmniTraxError(f"Cannot create the {what} '{path}': '{blocker}' is a file, not a folder. "
                            f"Choose another {other}.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OmniTraxError(f"Cannot create the {what} '{path}': {_reason(exc)}. Choose another {other} or "
                            f"check its permissions.") from None
    if writable:
        try:
            fd, probe = tempfile.mkstemp(prefix=".omnitrax-write-test-", dir=path)
            os.close(fd)
            os.remove(probe)
        except OSError as exc:
            raise OmniTraxError(f"Cannot write into the {what} '{path}': {_reason(exc)}. Choose another {other} "
                                f"or check its permissions.") from None
    return path


def output_file(path, what: str = "folder", writable: bool = False) -> Path:
    """Make `path` ready to be written: its folder exists (and is writable, when asked) and no folder
    sits where the file goes."""
    path = Path(path)
    if path.is_dir():
        raise OmniTraxError(f"Cannot write '{path}': a folder of that name is in the way. Move it away or choose "
                            f"another {what}.")
    ensure_folder(path.parent, what=what, writable=writable)
    return path


@contextlib.contextmanager
def writing(path, what: str = "folder"):
    """`with writing(path) as p: open(p, "w")...`: output_file(path), and an OSError while writing
    becomes a one-line OmniTraxError naming the file."""
    path = output_file(path, what)
    try:
        yield path
    except OSError as exc:
        raise OmniTraxError(f"Cannot write '{path}': {_reason(exc)}. Choose another {what} or check its "
                            f"permissions and free space.") from None


def write_text(path, text: str, what: str = "folder") -> Path:
    """Write a small text file (UTF-8, \\n line ends) through writing()."""
    with writing(path, what) as p:
        p.write_text(text, encoding="utf-8", newline="\n")
    return Path(path)


_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_file_name(name, empty: str = "track") -> str:
    """A name usable as a file name on every system: path and control characters -> '_', no leading or
    trailing spaces or dots (spaces inside stay); `empty` when nothing is left."""
    cleaned = _UNSAFE.sub("_", str(name)).strip(" .")
    return cleaned or empty
