"""Batches: track (and estimate poses in) many videos, in parallel or on a Dask cluster.

A video is a movie file or an image sequence (a folder of numbered frames, a first frame file or a glob:
omnitrax.video.find_series); <stem> is omnitrax.video.source_stem (a sequence's folder name).
Each video's outputs go to OUT/<stem>/, the same files the track and pose commands write
(<stem>_tracks.csv; with a pose model <stem>_poses.csv and <stem>_poses.h5). A video is first
written to OUT/<stem>.partial/ and renamed to OUT/<stem>/ only when complete, with a done.json inside
(settings hash, versions, time, counts). A rerun skips videos whose done.json matches the settings
(and the video's name and size), deletes left-over .partial folders and redoes only those videos, so
a batch that was killed can simply be started again.

Parallelism: by default a local process pool ('spawn') with min(CPU count, videos) workers; one
worker runs in this process. With --scheduler ADDRESS each video is submitted to an existing Dask
distributed cluster (e.g. one started by dask-jobqueue on SLURM/PBS). The workers run
`omnitrax.batch.process_video`, so omnitrax and its dependencies must be importable on every worker
(same environment, or the repository on their PYTHONPATH), and the video, model and output paths
must be visible to the workers under the same names (a shared file system).

The command line is omnitrax.cli.batch (`omnitrax batch`); this module is the bpy-free work it runs.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import OmniTraxError
from .files import ensure_folder

BATCH_FORMAT = 1  # bump when the per-video outputs change; part of the settings hash
SUMMARY_COLUMNS = ("video", "status", "frames", "tracks", "seconds", "error")
DONE_FILE = "done.json"
PARTIAL_SUFFIX = ".partial"


@dataclass
class VideoResult:
    """How one video went: status 'done' | 'skipped' | 'failed'; seconds spent in this run."""

    video: str
    status: str
    frames: int = 0
    tracks: int = 0
    seconds: float = 0.0
    error: str = ""


# ------------------------------------------------------------------------------------------- settings

def _pose_for_outputs(pose: dict | None) -> dict | None:
    """The pose settings that change the output files, or None when no pose model is set."""
    if not pose or not pose.get("pose_model_path"):
        return None
    return {k: pose.get(k) for k in ("pose_model_path", "pose_skeleton_path", "pose_roi_mode", "pose_roi_size",
                                     "pose_padding")}


def settings_hash(tracking, pose: dict | None, identify: bool = False) -> str:
    """sha256 (hex) of everything that decides a video's output files."""
    content = {"format": BATCH_FORMAT, "tracking": tracking.to_dict(), "pose": _pose_for_outputs(pose)}
    if identify:  # only when on, so results of batches without it stay valid
        content["identify"] = True
    blob = json.dumps(content, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _versions() -> dict:
    import platform

    import cv2
    import numpy

    import tomllib

    omnitrax_version = "unknown"
    here = Path(__file__).resolve().parent
    for manifest, key in ((here / "blender_manifest.toml", None), (here.parent / "pyproject.toml", "project")):
        try:  # the extension zip has the manifest inside the package, a checkout pyproject.toml above it
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
            omnitrax_version = str((data.get(key, {}) if key else data).get("version", "unknown"))
            break
        except (OSError, ValueError):
            continue
    return {"omnitrax": omnitrax_version, "python": platform.python_version(), "numpy": numpy.__version__,
            "opencv": cv2.__version__}


def _series(video: Path):
    """The image sequence `video` names (omnitrax.video.find_series), None for a movie or a bad sequence
    (whose own error comes when its job runs)."""
    from .video import find_series

    try:
        return find_series(video)
    except OmniTraxError:
        return None


def _video_identity(video: Path) -> dict:
    """What done.json records of the input: a movie's name and size; an image sequence's folder, series,
    first number, frame and file counts and total size (an added, removed or rewritten frame changes it)."""
    series = _series(video)
    if series is None:
        return {"name": video.name, "size": video.stat().st_size if video.is_file() else None}
    size = 0
    for name in series.files.values():
        try:
            size += (series.folder / name).stat().st_size
        except OSError:
            pass
    return {"name": f"{series.folder.name}/{series.pattern}", "first": series.first, "frames": series.frame_count,
            "files": len(series.files), "size": size}


def output_stem(video) -> str:
    """The name of a video's output folder and files: omnitrax.video.source_stem (a movie's file stem, an
    image sequence's folder name or prefix)."""
    from .video import source_stem

    return source_stem(video)


def read_done(folder: Path) -> dict | None:
    """The done.json record of a finished video folder, or None when absent or unreadable."""
    try:
        return json.loads((Path(folder) / DONE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_done(folder: Path, video: Path, digest: str) -> dict | None:
    """done.json of `folder` when it records this video and settings hash, else None."""
    record = read_done(folder)
    if record and record.get("settings_hash") == digest and record.get("video") == _video_identity(video):
        return record
    return None


# --------------------------------------------------------------------------------------- one video

def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no message"
    return text if isinstance(exc, OmniTraxError) else f"{type(exc).__name__}: {text}"


def _track_and_pose(video: Path, folder: Path, tracking, pose: dict | None, identify: bool = False) -> dict:
    """Write <stem>_tracks.csv (and pose files) for `video` into `folder`; returns counts and file names.
    identify: run the identity pass on the tracks first (omnitrax track --identify)."""
    from .io.exports import ExportContext, write_track_files
    from .io.tracks_csv import read_tracks_csv
    from .tracking.pipeline import TrackingRun

    stem = output_stem(video)
    run = TrackingRun(tracking, video_path=str(video))
    try:
        tracks = run.run()
        frames, fps = run.total, run._video.fps
    finally:
        run.close()
    identity = None
    if identify and len(tracks):
        from .identity.pipeline import IdentityRun

        job = IdentityRun(tracks, str(video), tracking.animals, certainty=tracking.identity_certainty)
        try:
            result = job.run()
        finally:
            job.close()
        tracks, identity = result.tracks, result.fragments
    context = ExportContext(fps=fps, scale=tracking.scale, unit=tracking.unit, class_names=run.class_names)
    written = write_track_files(folder, stem, tracks, ("csv", "summary"), context)
    tracks_path = written[0]
    files = [p.name for p in written]
    if identity is not None:
        from .io.identity_csv import write_identity_csv

        files.append(write_identity_csv(folder / f"{stem}_identity.csv", identity).name)
    pose = _pose_for_outputs(pose)
    if pose is not None:
        from .pose.estimate import estimate_poses
        from .pose.export import write_dlc_csv, write_dlc_h5
        from .pose.model import PoseModel

        model = PoseModel.load(pose["pose_model_path"], skeleton_config=pose["pose_skeleton_path"] or None)
        try:  # the tracks as the pose command reads them, so the files equal track + pose runs
            poses = estimate_poses(video, read_tracks_csv(tracks_path), model, roi_mode=pose["pose_roi_mode"],
                                   roi_size=int(pose["pose_roi_size"]), padding=float(pose["pose_padding"]))
        finally:
            model.close()
        files.append(write_dlc_csv(folder / f"{stem}_poses.csv", poses).name)
        files.append(write_dlc_h5(folder / f"{stem}_poses.h5", poses).name)
    return {"frames": int(frames), "tracks": len(tracks.ids()), "files": files}


def process_video(video: str, out_dir: str, tracking: dict, pose: dict | None = None, identify: bool = False) -> dict:
    """Track (and pose) one video into out_dir/<stem>/; the function local and Dask workers run.

    Arguments are plain data (paths as strings, settings as dicts) so they pickle anywhere. Never
    raises for a bad video: returns asdict(VideoResult) with status 'failed' and a one-line error.
    """
    from .tracking.settings import TrackingSettings

    t0 = time.perf_counter()
    video_path = Path(video)
    stem = output_stem(video_path)
    final = Path(out_dir) / stem
    partial = Path(out_dir) / (stem + PARTIAL_SUFFIX)
    try:
        settings = TrackingSettings.from_mapping(tracking)
        digest = settings_hash(settings, pose, identify)
        if is_done(final, video_path, digest):  # finished meanwhile (e.g. by another batch)
            record = read_done(final)
            return asdict(VideoResult(video, "skipped", record["frames"], record["tracks"]))
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        counts = _track_and_pose(video_path, partial, settings, pose, identify)
        seconds = time.perf_counter() - t0
        record = {"video": _video_identity(video_path), "settings_hash": digest, "versions": _versions(),
                  "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "seconds": round(seconds, 3), "settings": {"tracking": settings.to_dict(),
                                                             "pose": _pose_for_outputs(pose)}, **counts}
        (partial / DONE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if final.exists():  # outputs of other settings
            shutil.rmtree(final)
        partial.rename(final)
        return asdict(VideoResult(video, "done", counts["frames"], counts["tracks"], seconds))
    except Exception as exc:  # a bad video must not stop the batch; the summary reports it
        shutil.rmtree(partial, ignore_errors=True)
        return asdict(VideoResult(video, "failed", seconds=time.perf_counter() - t0, error=_one_line(exc)))


# ------------------------------------------------------------------------------------------ runners

def _watch_parent(parent: int) -> None:
    """Exit this worker when the batch process that started it has died (e.g. SIGKILL)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(parent: int, threads: int) -> None:
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    import cv2

    cv2.setNumThreads(threads)


def _run_local(jobs, workers: int, on_result):
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            on_result(process_video(*job))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(os.getpid(), threads)) as pool:
        futures = {pool.submit(process_video, *job): job for job in jobs}
        try:
            for future in as_completed(futures):
                on_result(_future_result(future, futures[future][0]))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _future_result(future, video: str) -> dict:
    try:
        return future.result()
    except Exception as exc:  # the worker process died or the task could not run there
        return asdict(VideoResult(video, "failed", error=f"worker failed: {_one_line(exc)}"))


def _run_dask(jobs, scheduler: str, on_result, connect_timeout: str = "20s"):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise OmniTraxError("--scheduler needs Dask: pip install 'distributed' (see requirements.txt).") from None
    try:
        client = Client(scheduler, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OmniTraxError(f"Cannot connect to the Dask scheduler at {scheduler}: {_one_line(exc)}. "
                            f"Check the address (e.g. tcp://host:8786) and that the cluster runs.") from None
    try:
        futures = {client.submit(process_video, *job, pure=False): job for job in jobs}
        for future in as_completed(futures):
            result = _future_result(future, futures[future][0])
            if result["status"] == "failed" and ("deserializ" in result["error"] or "No module named" in result["error"]):
                result["error"] += (" (the Dask scheduler and workers must import omnitrax: install it there or put "
                                    "the repository on their PYTHONPATH)")
            on_result(result)
    finally:
        client.close()


# -------------------------------------------------------------------------------------------- batch

def plan(videos, out_dir: Path, tracking, pose: dict | None, identify: bool = False):
    """Split videos into (skipped results, jobs to run); deletes stale .partial folders of the latter."""
    digest = settings_hash(tracking, pose, identify)
    skipped, jobs, stems = [], [], {}
    for video in videos:
        path = Path(video)
        stem = output_stem(path)
        other = stems.setdefault(stem, path)
        if other != path:
            a, b = _series(other), _series(path)
            if a is not None and b is not None and (a.folder, a.prefix, a.suffix) == (b.folder, b.prefix, b.suffix):
                raise OmniTraxError(f"{other} and {path} are frames of one image sequence ({a.folder / a.pattern}): "
                                    f"give it once, as its folder or a quoted glob (the shell expands an unquoted "
                                    f"glob into every frame).")
            raise OmniTraxError(f"Videos {other} and {path} share the name '{stem}', so their outputs "
                                f"would collide: rename one or run them in separate batches.")
        record = is_done(out_dir / stem, path, digest)
        if record is not None:
            skipped.append(VideoResult(str(video), "skipped", record.get("frames", 0), record.get("tracks", 0)))
            continue
        shutil.rmtree(out_dir / (stem + PARTIAL_SUFFIX), ignore_errors=True)
        jobs.append((str(video), str(out_dir), tracking.to_dict(), pose, identify))
    return skipped, jobs


def run_batch(videos, out_dir, tracking, pose: dict | None = None, workers: int | None = None,
              scheduler: str | None = None, on_result=None, identify: bool = False) -> list[VideoResult]:
    """Process `videos` into out_dir; returns one VideoResult per video, in the order given.

    tracking: TrackingSettings; pose: settings_file.POSE_DEFAULTS-style dict (pose runs when it has a
    pose_model_path). workers: local processes (default min(CPU count, videos)); scheduler: a Dask
    scheduler address instead. on_result(VideoResult) is called as each video finishes or is skipped.
    Writes out_dir/batch_summary.csv.
    """
    videos = list(dict.fromkeys(str(Path(v).resolve()) for v in videos))  # a video listed twice runs once
    if not videos:
        raise OmniTraxError("No videos given: list the video files to process.")
    if workers is not None and workers < 1:
        raise OmniTraxError(f"--workers must be at least 1, got {workers}.")
    out = ensure_folder(Path(out_dir).resolve(), what="output folder", writable=True)
    if pose and pose.get("pose_model_path"):
        pose = dict(pose, pose_model_path=str(Path(pose["pose_model_path"]).expanduser().resolve()))
        if not Path(pose["pose_model_path"]).exists():
            raise OmniTraxError(f"Pose model {pose['pose_model_path']} not found: check the path.")
    if identify and not tracking.animals:
        raise OmniTraxError("--identify needs the number of animals: set animals = N in the settings file.")
    skipped, jobs = plan(videos, out, tracking, pose, identify)
    results = {r.video: r for r in skipped}

    def collect(result):
        r = result if isinstance(result, VideoResult) else VideoResult(**result)
        results[r.video] = r
        if on_result is not None:
            on_result(r)

    for r in skipped:
        if on_result is not None:
            on_result(r)
    if jobs:
        if scheduler:
            _run_dask(jobs, scheduler, collect)
        else:
            _run_local(jobs, min(workers or os.cpu_count() or 1, len(jobs)), collect)
    ordered = [results[v] for v in videos]
    write_summary(out / "batch_summary.csv", ordered)
    return ordered


def write_summary(path, results) -> Path:
    """batch_summary.csv: one row per video with SUMMARY_COLUMNS (seconds with 2 decimals)."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(SUMMARY_COLUMNS)
        for r in results:
            w.writerow([r.video, r.status, r.frames, r.tracks, f"{r.seconds:.2f}", r.error])
    return path


def format_table(results) -> str:
    """The summary as an aligned text table (video names only, not full paths)."""
    rows = [("video", "status", "frames", "tracks", "seconds", "error")]
    rows += [(Path(r.video).name, r.status, str(r.frames), str(r.tracks), f"{r.seconds:.1f}", r.error)
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row[:5], widths)))
             + ("  " + row[5] if row[5] else "") for row in rows]
    return "\n".join(line.rstrip() for line in lines)
