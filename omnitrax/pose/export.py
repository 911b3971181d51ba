"""Pose tables as DeepLabCut files: the multi-animal CSV / .h5 and per-animal single-animal CSVs.

Layout (as DeepLabCut's own analysis output): columns are a MultiIndex (scorer, individuals,
bodyparts, coords) with coords x, y, likelihood; the index is the 0-based video frame number, one
row per frame from 0 to the last frame with a pose (or the frames given); NaN where an animal or
joint has no pose. Pixels in the full frame, origin top-left. Single-animal files have no
individuals level. Read them back with
`pandas.read_csv(path, header=[0, 1, 2, 3], index_col=0)` (header=[0, 1, 2] for single-animal) or
`pandas.read_hdf(path)`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import OmniTraxError
from ..files import ensure_folder, safe_file_name, writing
from ..tracking.tracks import distinct_names
from .poses import Poses

H5_KEY = "df_with_missing"
COORDS = ("x", "y", "likelihood")


def _frames(poses: Poses, frames) -> np.ndarray:
    if frames is not None:
        return np.asarray(list(frames), np.int64)
    last = int(poses.frame.max()) if len(poses) else -1
    return np.arange(last + 1)


def dlc_dataframe(poses: Poses, scorer: str = "OmniTrax", names=None, frames=None):
    """The DeepLabCut multi-animal DataFrame (see the module docstring).

    names:  dict track id -> individual name (default `track_<id>`).
    frames: the frame numbers to write as rows (default 0..last frame with a pose).
    """
    import pandas as pd

    if not poses.joint_names:
        raise OmniTraxError("The poses have no joint names; estimate them with a model first.")
    array, frames, ids = poses.to_array(frames=_frames(poses, frames))
    columns = pd.MultiIndex.from_product([[str(scorer)], distinct_names(ids, names), poses.joint_names, list(COORDS)],
                                         names=["scorer", "individuals", "bodyparts", "coords"])
    return pd.DataFrame(array.reshape(len(frames), -1), index=pd.Index(frames, dtype=np.int64), columns=columns)


def write_dlc_csv(path, poses: Poses, scorer: str = "OmniTrax", names=None, frames=None) -> Path:
    """Write the DeepLabCut multi-animal CSV (4 header rows: scorer, individuals, bodyparts, coords)."""
    df = dlc_dataframe(poses, scorer, names, frames)
    with writing(path) as path:
        df.to_csv(path)
    return path


def write_dlc_h5(path, poses: Poses, scorer: str = "OmniTrax", names=None, frames=None) -> Path:
    """Write the same DataFrame as DeepLabCut's .h5 (key 'df_with_missing', table format; needs PyTables)."""
    try:
        import tables  # noqa: F401  (pandas needs it for to_hdf)
    except ImportError:
        raise OmniTraxError("Writing .h5 needs the 'tables' package (PyTables); install it or write CSV "
                            "only.") from None
    df = dlc_dataframe(poses, scorer, names, frames)
    with writing(path) as path:
        df.to_hdf(path, key=H5_KEY, format="table", mode="w")
    return path


def write_dlc_single(folder, poses: Poses, scorer: str = "OmniTrax", names=None, frames=None) -> list[Path]:
    """One single-animal DeepLabCut CSV per track, `<folder>/<name>.csv` (3 header rows: scorer,
    bodyparts, coords). Returns the paths written."""
    import pandas as pd

    folder = ensure_folder(folder, what="folder")
    df = dlc_dataframe(poses, scorer, names, frames)
    written, used = [], set()
    for name in df.columns.unique("individuals"):
        file_name = safe_file_name(name)
        if file_name.lower() in used:
            raise OmniTraxError(f"Two tracks would both be written to '{file_name}.csv'; give them distinct names.")
        used.add(file_name.lower())
        one = df.xs(name, axis=1, level="individuals", drop_level=True)
        one.columns = pd.MultiIndex.from_tuples(list(one.columns), names=["scorer", "bodyparts", "coords"])
        with writing(folder / f"{file_name}.csv") as path:
            one.to_csv(path)
        written.append(path)
    return written
