"""The set of track files one tracking result is exported as (CLI, batch and Blender write the same set).

Formats: csv (`<stem>_tracks.csv`, plus `<stem>_classes.csv` when the class names are known), summary
(`<stem>_summary.csv`: distance and speed per track, in real units with a scale), mot (`<stem>.txt`),
legacy (`<stem>_legacy/<track>.csv`, upstream OmniTrax's per-track files). Every target is checked
before the first file is written, so a blocked name does not leave half an export.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import OmniTraxError
from ..files import ensure_folder, output_file

FORMATS = ("csv", "summary", "mot", "legacy")


@dataclass
class ExportContext:
    """What the exports need beyond the tracks: frame height (legacy's bottom-left origin), fps (speeds
    per second), scale (px per unit, 0: none) and unit, class names, track names, scene-frame mapping."""

    frame_height: int | None = None
    fps: float = 0.0
    scale: float = 0.0
    unit: str = "mm"
    class_names: list | None = None
    names: dict | None = None
    scene_frame: object = None  # video frames -> Blender frame numbers (legacy); None: frame + 1


def parse_formats(text: str) -> list[str]:
    """'csv,summary' -> ['csv', 'summary']; an unknown name is a one-line error."""
    formats = [e.strip() for e in text.split(",") if e.strip()]
    bad = [e for e in formats if e not in FORMATS]
    if bad:
        raise OmniTraxError(f"Unknown export format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}.")
    return formats


def write_track_files(out, stem: str, tracks, formats, context: ExportContext | None = None,
                      what: str = "output folder") -> list[Path]:
    """Write `tracks` into folder `out` in each of `formats`; returns what was written (legacy: its files).
    `what` names the folder in messages ("export folder" in Blender)."""
    from . import mot, summary, tracks_csv

    c = context or ExportContext()
    out = ensure_folder(out, what=what, writable=True)
    if "legacy" in formats and c.frame_height is None:
        raise OmniTraxError("The legacy export needs the frame height: give the video too.")
    files = {"csv": [f"{stem}_tracks.csv"] + ([f"{stem}_classes.csv"] if c.class_names else []),
             "summary": [f"{stem}_summary.csv"], "mot": [f"{stem}.txt"]}
    for name in (n for f in formats for n in files.get(f, ())):
        output_file(out / name)  # refuse before writing anything, not half-way
    if "legacy" in formats:
        ensure_folder(out / f"{stem}_legacy", what="legacy folder", instead="folder")
    written = []
    if "csv" in formats:
        written.append(tracks_csv.write_tracks_csv(out / f"{stem}_tracks.csv", tracks))
        if c.class_names:
            written.append(tracks_csv.write_classes(out / f"{stem}_classes.csv", c.class_names))
    if "summary" in formats:
        rows = summary.track_summaries(tracks, c.names, fps=c.fps, scale=c.scale, unit=c.unit,
                                       class_names=c.class_names)
        written.append(summary.write_summaries(out / f"{stem}_summary.csv", rows))
    if "mot" in formats:
        written.append(mot.write_mot(out / f"{stem}.txt", tracks))
    if "legacy" in formats:
        written += tracks_csv.write_legacy(out / f"{stem}_legacy", tracks, frame_height=c.frame_height,
                                           names=c.names, scene_frame=c.scene_frame, class_names=c.class_names)
    return [Path(p) for p in written]
