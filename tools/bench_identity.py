"""Figures of the identity pass (omnitrax track --identify): identities, the uncertain list, the appearance
model, and the time it takes on a long clip.

    python tools/bench_identity.py [--long-frames 10000] [--skip-long] [--cache DIR]

1. Identities, motion-only vs --identify (IDF1), and the uncertain list against the truth
   (omnitrax.io.identity_eval), on: 8 individually distinct animals that cross often (YOLO), the bundled
   ant sample (20 alike ants, YOLO), 8 identical animals (YOLO; appearance cannot help), and 8 distinct
   animals of mixed shades (4 darker, 4 lighter than a grey floor, of different sizes) with the
   background detector's defaults (--detector background --animals 8: automatic polarity).
2. The appearance model: per-fragment accuracy of the features + linear model OmniTrax uses, and, when
   torch is installed, of a small CNN trained on the same crops on the CPU (for comparison only).
3. Time of the identity pass for 10 animals x --long-frames frames at 640 x 480 (the clip and its tracks
   are made once and kept in --cache).
"""
from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax import resources  # noqa: E402
from omnitrax.identity.pipeline import IdentityRun  # noqa: E402
from omnitrax.io.evaluate import evaluate  # noqa: E402
from omnitrax.io.ground_truth import GroundTruth  # noqa: E402
from omnitrax.io.identity_eval import score_identities  # noqa: E402
from omnitrax.testclips import count_crossings, render_clip
from omnitrax.tracking.pipeline import TrackingRun  # noqa: E402
from omnitrax.tracking.settings import TrackingSettings  # noqa: E402


def track(video, detector, animals, counts=None):
    """Tracks of the video; the detections per frame are appended to `counts` when given."""
    run = TrackingRun(TrackingSettings(detector=detector, animals=animals), video_path=str(video))
    try:
        for progress in run.steps():
            if counts is not None:
                counts.append(progress.detections)
        return run.result()
    finally:
        run.close()


def clip(cache: Path, name: str, **kw):
    """(video, truth) of a synthetic clip, rendered once into cache."""
    video, truth = cache / f"{name}.avi", cache / f"{name}_gt.csv"
    if not (video.is_file() and truth.is_file()):
        render_clip(video, **kw).to_csv(truth)
    return video, GroundTruth.from_csv(truth)


def identities(cache: Path) -> None:
    print("1. identities: motion-only vs --identify; the uncertain list (fragments of >= 5 frames)")
    cases = []
    for name, looks in (("distinct8", "distinct"), ("identical8", "identical")):
        video, truth = clip(cache, name, n_frames=500, seed=1, n_animals=8, width=400, height=300, looks=looks,
                            encounters=0.1)
        cases.append((f"8 {looks} animals, {count_crossings(truth)} crossings", video, truth.to_tracks(), 8, "yolo"))
    truth = GroundTruth.from_csv(resources.sample_ground_truth())
    cases.insert(1, (f"ant sample (20 alike ants), {count_crossings(truth)} crossings", resources.sample_clip(),
                     truth.to_tracks(), 20, "yolo"))
    video, truth = clip(cache, "mixed8", n_frames=500, seed=1, n_animals=8, width=400, height=300, looks="distinct",
                        polarity="mixed", encounters=0.1)
    cases.append((f"8 distinct animals of mixed shades (background detector), {count_crossings(truth)} crossings",
                  video, truth.to_tracks(), 8, "background"))
    for label, video, truth, n, detector in cases:
        counts = []
        motion = track(video, detector, n, counts)
        counts = np.asarray(counts)
        for certainty in (0.9, 0.99):
            run = IdentityRun(motion, str(video), n, certainty=certainty)
            result = run.run()
            run.close()
            s = score_identities(motion, run.fragments, result.fragments, truth)
            if certainty == 0.9:
                before, after = evaluate(truth, motion), evaluate(truth, result.tracks)
                print(f"  {label}: IDF1 {before['IDF1']:.4f} -> {after['IDF1']:.4f}, MOTA {before['MOTA']:.4f} -> "
                      f"{after['MOTA']:.4f}, ID switches {before['id_switches']} -> {after['id_switches']} "
                      f"({result.seconds:.1f} s)")
                print(f"    detections per frame {counts.mean():.2f} (all {n} in {np.mean(counts >= n):.0%} of frames)")
                print(f"    real swaps of the tracker: {s['swaps']}: {s['swaps_corrected']} corrected, "
                      f"{s['swaps_listed']} listed, {s['swaps_missed']} missed")
            print(f"    certainty {certainty}: listed {s['listed']} of {s['counted']} fragments; wrong after the pass "
                  f"{s['wrong']} ({s['wrong_rows']} of {s['rows']} rows); list precision {s['precision']:.2f}, "
                  f"recall {s['recall']:.2f} (by rows {s['recall_rows']:.2f})")


def gt_crops(video, truth, per_animal_gap=1):
    """Ground-truth crops of animals no other one is near: (features, aligned grey crops, ids, frames)."""
    import cv2

    from omnitrax.identity.appearance import crop_features
    from omnitrax.identity.fragments import body_sizes, touching_pairs
    from omnitrax.video import VideoSource

    size = body_sizes(truth)
    i, j, _ = touching_pairs(truth, size)
    alone = np.ones(len(truth), bool)
    alone[i] = alone[j] = False
    feats, crops, ids, frames = [], [], [], []
    side = 40
    with VideoSource(video) as source:
        for f, image in source.frames():
            rows = np.flatnonzero((truth.frame == f) & alone)
            x, ok = crop_features(image, truth.x[rows], truth.y[rows], size[rows])
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
            for r, good, feature in zip(rows, ok, x):
                cx, cy, half = int(truth.x[r]), int(truth.y[r]), side // 2 + 8
                if not good or cx < half or cy < half or cx + half >= grey.shape[1] or cy + half >= grey.shape[0]:
                    continue
                win = grey[cy - half:cy + half, cx - half:cx + half]
                diff = np.abs(win - np.median(np.r_[win[0], win[-1]]))
                m = cv2.moments((diff > 0.5 * diff.max()).astype(np.uint8), True)
                angle = 0.5 * np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"])
                mx, my = m["m10"] / m["m00"], m["m01"] / m["m00"]
                rot = cv2.getRotationMatrix2D((mx, my), np.degrees(angle), 1.0)
                rot[0, 2] += side / 2 - mx
                rot[1, 2] += side / 2 - my
                crops.append(cv2.warpAffine(diff, rot, (side, side)) / 100.0)
                feats.append(feature)
                ids.append(truth.track[r])
                frames.append(f)
    return np.array(feats), np.array(crops, np.float32), np.array(ids), np.array(frames)


def fragment_accuracy(p, ids, frames, chunk=10):
    """Accuracy of the mean probability over runs of `chunk` consecutive crops of one animal."""
    hits = []
    for k in np.unique(ids):
        rows = np.flatnonzero(ids == k)
        rows = rows[np.argsort(frames[rows], kind="stable")]
        for s in range(0, len(rows) - chunk + 1, chunk):
            hits.append(p[rows[s:s + chunk]].mean(axis=0).argmax() == k)
    return float(np.mean(hits))


def cnn(train_x, train_y, test_x, n, epochs=30):
    """A small CNN (3 conv layers, global pooling) trained on the CPU; test probabilities, seconds."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, n))
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    x, y = torch.tensor(train_x[:, None]), torch.tensor(train_y)
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for b in torch.randperm(len(x)).split(64):
            batch = x[b]
            if torch.rand(1) < 0.5:
                batch = batch.flip(3)  # heading: either end first
            if torch.rand(1) < 0.5:
                batch = batch.flip(2)
            loss = torch.nn.functional.cross_entropy(net(batch), y[b])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        t = torch.tensor(test_x[:, None])
        p = sum(torch.softmax(net(v), 1) for v in (t, t.flip(3), t.flip(2), t.flip(2).flip(3))) / 4
    return p.numpy(), seconds


def models(cache: Path) -> None:
    from omnitrax.identity.appearance import LinearIdentities

    print("2. appearance model: trained on the first half of a clip's clean views, tested on the second half "
          "(accuracy per crop / per 10 crops)")
    video, truth = clip(cache, "distinct8", n_frames=500, seed=1, n_animals=8, width=400, height=300,
                        looks="distinct", encounters=0.1)
    truth_sample = GroundTruth.from_csv(resources.sample_ground_truth())
    for label, video, truth in (("8 distinct animals", video, truth), ("ant sample", resources.sample_clip(),
                                                                       truth_sample)):
        t = truth.to_tracks()
        feats, crops, ids, frames = gt_crops(video, t)
        n = int(ids.max()) + 1
        train = frames < np.median(frames)
        t0 = time.perf_counter()
        p = LinearIdentities(n).fit(feats[train], ids[train]).proba(feats[~train])
        lda_s = time.perf_counter() - t0
        print(f"  {label}: features + linear model {np.mean(p.argmax(1) == ids[~train]):.3f} / "
              f"{fragment_accuracy(p, ids[~train], frames[~train]):.3f} (fit {lda_s * 1000:.0f} ms, "
              f"{train.sum()} crops)")
        try:
            import torch  # noqa: F401
        except ImportError:
            print("    small CNN: torch is not installed here")
            continue
        p, seconds = cnn(crops[train], ids[train], crops[~train], n)
        print(f"    small CNN (torch, CPU): {np.mean(p.argmax(1) == ids[~train]):.3f} / "
              f"{fragment_accuracy(p, ids[~train], frames[~train]):.3f} (training {seconds:.0f} s)")


def long_clip(cache: Path, frames: int) -> None:
    name = f"long10_{frames}"
    print(f"3. time: 10 animals x {frames} frames, 640 x 480 (the background detector's tracks, --animals 10)")
    video, truth = clip(cache, name, n_frames=frames, seed=7, n_animals=10, looks="distinct", encounters=0.02)
    tracks_file = cache / f"{name}_tracks.pkl"
    if tracks_file.is_file():
        motion = pickle.loads(tracks_file.read_bytes())
    else:
        motion = track(video, "background", 10)
        tracks_file.write_bytes(pickle.dumps(motion))
    stages = {}
    last = [time.perf_counter(), None]

    def note(p):
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
        last[0], last[1] = now, p.stage

    t0 = time.perf_counter()
    run = IdentityRun(motion, str(video), 10)
    setup = time.perf_counter() - t0
    last[0] = time.perf_counter()
    result = run.run(on_progress=note)
    note(type("End", (), {"stage": None})())
    run.close()
    total = time.perf_counter() - t0
    truth_tracks = truth.to_tracks()
    before, after = evaluate(truth_tracks, motion)["IDF1"], evaluate(truth_tracks, result.tracks)["IDF1"]
    print(f"  identity pass {total:.1f} s ({frames / total:.0f} frames/s): fragments {setup:.1f} s, "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    print(f"  {len(result.fragments)} fragments, {int(result.fragments.crops.sum())} crops; "
          f"{count_crossings(truth)} crossings; IDF1 {before:.4f} -> {after:.4f}")
    print(f"  command: omnitrax track {video} --out OUT --detector background --animals 10 --identify")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-frames", type=int, default=10000)
    parser.add_argument("--skip-long", action="store_true", help="leave out the long clip (3.)")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "bench_identity")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    identities(args.cache)
    models(args.cache)
    if not args.skip_long:
        long_clip(args.cache, args.long_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
