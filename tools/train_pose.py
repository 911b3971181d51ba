"""Train the bundled default ant pose model (head, thorax, abdomen) and export it for DeepLabCut-Live.

    nice -n 10 python tools/train_pose.py [--steps 5000] [--out data/models]

Writes <out>/ants_pose/ (snapshot.pb: a TensorFlow frozen graph; pose_cfg.yaml; config.yaml: a DLC
project config with bodyparts and skeleton) and <out>/ants_pose_train.log (settings, losses, and the
keypoint errors measured through omnitrax.pose.estimate_poses on the ground-truth track positions of
held-out clips (--eval-frames frames each) and of the whole bundled sample clip, at ROI sizes 96 and 128 px).

Data: omnitrax.testclips clips with seeds >= 2000 (both polarities, 10-30 animals, varied noise and
blur), written as XVID or MJPG video and read back (codec artefacts as in the sample clip). Training
crops are TRAIN_CROP px squares cut with omnitrax.pose.crops exactly as estimate_poses cuts them, centred
on the animal's centroid plus a few px of jitter (like tracker positions). The sample clip is seed 0,
validation uses seeds 600-603; neither is trained on.

Network (~0.15 M parameters, fully convolutional, any crop size): input RGB 0..255 plus two
coordinate channels (pixels from the crop centre / 48), plain conv/ReLU layers down to stride 8,
upsampled and fused with the stride-4 features; 1x1 heads give per stride-4 cell a score logit per joint
and DLC location-refinement offsets (dx, dy per joint, in units of LOCREF_STDEV px). A fixed centre
prior lowers the logits of cells farther than PRIOR_RADIUS px from the crop centre, so in big crops the
animal the crop was cut for wins over its neighbours: keypoints are found within about 32 px of the track
position (the synthetic ants are 26-38 px long). Use ROI sizes of 64-128 px ("constant" mode, 1:1 crops).
Decoding is DLC's: x = col * STRIDE + STRIDE / 2 + dx * LOCREF_STDEV (crop pixels, integer = pixel centre).

Losses: sigmoid cross-entropy against Gaussian heatmaps (sigma HEAT_SIGMA px, evaluated at each cell's
decode point) and a Huber loss on the offsets of cells within LOCREF_RADIUS px of the keypoint.
Everything is seeded: the same command gives the same data and, up to TF's threaded float sums, the same model.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:  # torchvision imported after tensorflow segfaults here; dlclive (evaluation) imports it
    import torchvision  # noqa: F401,E402
except ImportError:
    pass
import tensorflow as tf  # noqa: E402

from omnitrax.io.ground_truth import GroundTruth  # noqa: E402
from omnitrax.pose import crops  # noqa: E402
from omnitrax.testclips import render_clip
from omnitrax.video import VideoSource  # noqa: E402

JOINTS = ("head", "thorax", "abdomen")
SKELETON = (("head", "thorax"), ("thorax", "abdomen"))
STRIDE = 4
LOCREF_STDEV = 4.0  # px per offset unit
TRAIN_CROP = 96  # px, the Blender panel's default ROI size
COORD_SCALE = 48.0  # px per unit of the coordinate channels
PRIOR_RADIUS = 32.0  # px from the crop centre where the centre prior starts
PRIOR_SLOPE = 0.5  # logit units per px beyond PRIOR_RADIUS
HEAT_SIGMA = 2.0  # px
LOCREF_RADIUS = 7.0  # px
JITTER = 2.0  # px, std of the crop-centre jitter (clipped at 3 sigma)
TRAIN_SEEDS = range(2000, 2100)
VALID_SEEDS = (600, 601, 602, 603)
# (name, input channels, output channels, stride, dilation)
LAYERS = (("c1", 5, 24, 2, 1), ("c2", 24, 32, 2, 1), ("c3", 32, 32, 1, 1), ("c4", 32, 64, 2, 1),
          ("c5", 64, 64, 1, 1), ("c6", 64, 64, 1, 2), ("c7", 96, 32, 1, 1), ("c8", 32, 32, 1, 1))
HEADS = (("score", 32, len(JOINTS)), ("locref", 32, 2 * len(JOINTS)))


# ------------------------------------------------------------------------------------------- data

def clip_settings(seed: int) -> dict:
    """Render settings of one clip (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    return {"seed": seed, "n_animals": int(rng.integers(10, 31)),
            "polarity": "dark_on_light" if seed % 2 == 0 else "light_on_dark",
            "noise": float(rng.uniform(1.5, 5.0)), "blur": float(rng.uniform(0.4, 1.0))}


def read_video(path) -> list:
    with VideoSource(path) as video:
        return [frame for _, frame in video.frames()]


def keypoints_of(gt: GroundTruth, keep) -> np.ndarray:
    """(N, J, 2) ground-truth keypoints (frame pixels) of the rows selected by `keep`."""
    return np.stack([np.c_[getattr(gt, f"{j}_x")[keep], getattr(gt, f"{j}_y")[keep]] for j in JOINTS], axis=1)


def render_dataset(seeds, n_frames: int, every: int, crop: int, workdir: Path, log) -> tuple:
    """Training crops (N, crop, crop, 3) RGB uint8 and their keypoints (N, J, 2) in crop pixels."""
    images, points = [], []
    for seed in seeds:
        settings = clip_settings(seed)
        rng = np.random.default_rng(seed + 7)
        fourcc = "MJPG" if seed % 4 == 1 else "XVID"
        path = workdir / f"train_{seed}.avi"
        gt = render_clip(path, n_frames=n_frames, fourcc=fourcc, **settings)
        frames = read_video(path)
        path.unlink()
        for f in range(0, len(frames), every):
            keep = gt.frame == f
            centres = np.c_[gt.x[keep], gt.y[keep]]
            jitter = np.clip(rng.normal(0.0, JITTER, centres.shape), -3 * JITTER, 3 * JITTER)
            rois = crops.roi_boxes(centres + jitter, size=crop)
            cut = crops.extract(frames[f], rois, crop)
            images.append(cut[..., ::-1])  # BGR -> RGB, as DLC-Live feeds the network
            # frame -> crop pixels at 1:1: x_crop = x_frame - left - 0.5
            points.append(keypoints_of(gt, keep) - rois[:, None, :2] - 0.5)
    images, points = np.concatenate(images), np.concatenate(points)
    log(f"training crops: {len(images)} of {crop} px from {len(list(seeds))} clips "
        f"(every {every}th of {n_frames} frames)")
    return images, points


def targets(points: np.ndarray, crop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heatmaps (N, h, w, J), offsets (N, h, w, 2J) in LOCREF_STDEV units and their mask (N, h, w, 2J)."""
    cells = -(-crop // STRIDE)
    centre = np.arange(cells) * STRIDE + 0.5 * STRIDE  # each cell's decode point, crop pixels
    dx = points[:, None, None, :, 0] - centre[None, None, :, None]  # (N, 1, w, J)
    dy = points[:, None, None, :, 1] - centre[None, :, None, None]  # (N, h, 1, J)
    d2 = dx ** 2 + dy ** 2  # (N, h, w, J)
    heat = np.exp(-d2 / (2 * HEAT_SIGMA ** 2)).astype(np.float32)
    offsets = np.stack(np.broadcast_arrays(dx, dy), axis=-1) / LOCREF_STDEV  # (N, h, w, J, 2)
    n, h, w, j = d2.shape
    mask = np.repeat((d2 < LOCREF_RADIUS ** 2)[..., None], 2, axis=-1)
    return heat, offsets.reshape(n, h, w, 2 * j).astype(np.float32), mask.reshape(n, h, w, 2 * j).astype(np.float32)


# ---------------------------------------------------------------------------------------- network

def init_params(seed: int) -> dict:
    """He-initialised weights: {name: (kernel HWIO, bias)} as numpy float32."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, cin, cout, _, _ in LAYERS:
        params[name] = (rng.normal(0, np.sqrt(2.0 / (9 * cin)), (3, 3, cin, cout)).astype(np.float32),
                        np.zeros(cout, np.float32))
    for name, cin, cout in HEADS:
        bias = np.full(cout, -4.0 if name == "score" else 0.0, np.float32)  # start with low scores
        params[name] = (rng.normal(0, 0.01, (1, 1, cin, cout)).astype(np.float32), bias)
    return params


def forward(x, p):
    """(score logits with the centre prior, locref) for RGB images x (B, H, W, 3), 0..255.

    p: {name: (kernel, bias)} tensors (variables while training, constants when freezing). The op order
    matters for DLC-Live when freezing: the caller makes the sigmoid last, this returns locref's
    BiasAdd as the last op it creates.
    """
    shape = tf.shape(x)
    h, w = shape[1], shape[2]
    ys = (tf.cast(tf.range(h), tf.float32) - (tf.cast(h, tf.float32) - 1.0) / 2.0) / COORD_SCALE
    xs = (tf.cast(tf.range(w), tf.float32) - (tf.cast(w, tf.float32) - 1.0) / 2.0) / COORD_SCALE
    grid_x = tf.tile(xs[None, None, :, None], [shape[0], h, 1, 1])
    grid_y = tf.tile(ys[None, :, None, None], [shape[0], 1, w, 1])
    z = tf.concat([(x - 127.5) / 64.0, grid_x, grid_y], axis=3)

    def conv(z, name, stride=1, dilation=1, relu=True):
        kernel, bias = p[name]
        z = tf.nn.bias_add(tf.nn.conv2d(z, kernel, strides=stride, padding="SAME", dilations=dilation), bias)
        return tf.nn.relu(z) if relu else z

    feats = {}
    for name, _, _, stride, dilation in LAYERS[:6]:
        z = conv(z, name, stride, dilation)
        feats[name] = z
    fine = feats["c3"]
    up = tf.image.resize(z, tf.shape(fine)[1:3], method="nearest")
    z = conv(tf.concat([up, fine], axis=3), "c7")
    z = conv(z, "c8")
    logits = conv(z, "score", relu=False)
    # centre prior: cells (decode points) farther than PRIOR_RADIUS px from the crop centre lose score
    gh, gw = tf.shape(logits)[1], tf.shape(logits)[2]
    cy = tf.cast(tf.range(gh), tf.float32) * STRIDE + 0.5 * STRIDE - (tf.cast(h, tf.float32) - 1.0) / 2.0
    cx = tf.cast(tf.range(gw), tf.float32) * STRIDE + 0.5 * STRIDE - (tf.cast(w, tf.float32) - 1.0) / 2.0
    r = tf.sqrt(cy[:, None] ** 2 + cx[None, :] ** 2)
    logits = logits - PRIOR_SLOPE * tf.nn.relu(r - PRIOR_RADIUS)[None, :, :, None]
    locref = conv(z, "locref", relu=False)
    return logits, locref


def count_params(params) -> int:
    return int(sum(k.size + b.size for k, b in params.values()))


# --------------------------------------------------------------------------------------- training

def train(images, points, steps: int, batch: int, lr: float, seed: int, log) -> dict:
    """Adam with cosine decay; returns the trained weights as numpy arrays."""
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    crop = images.shape[1]
    heat, offsets, mask = targets(points, crop)
    variables = {n: (tf.Variable(k), tf.Variable(b)) for n, (k, b) in init_params(seed).items()}
    flat = [v for pair in variables.values() for v in pair]
    optimizer = _Adam(flat, lr)

    @tf.function(reduce_retracing=True)
    def step(x, t_heat, t_off, t_mask, rate):
        with tf.GradientTape() as tape:
            logits, locref = forward(x, variables)
            score_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=t_heat, logits=logits))
            huber = tf.where(tf.abs(locref - t_off) < 1.0, 0.5 * (locref - t_off) ** 2, tf.abs(locref - t_off) - 0.5)
            loc_loss = tf.reduce_sum(huber * t_mask) / tf.maximum(tf.reduce_sum(t_mask), 1.0)
            loss = 20.0 * score_loss + loc_loss
        grads = tape.gradient(loss, flat)
        optimizer.apply(grads, rate)
        return score_loss, loc_loss

    start, seen = time.time(), []
    for i in range(steps):
        rate = lr * 0.5 * (1.0 + np.cos(np.pi * i / steps))
        pick = rng.integers(0, len(images), batch)
        x = images[pick].astype(np.float32)
        # brightness/contrast jitter per crop
        gain = rng.uniform(0.85, 1.15, (batch, 1, 1, 1)).astype(np.float32)
        shift = rng.uniform(-15, 15, (batch, 1, 1, 1)).astype(np.float32)
        x = np.clip((x - 127.5) * gain + 127.5 + shift, 0, 255)
        s, l = step(tf.constant(x), heat[pick], offsets[pick], mask[pick], tf.constant(rate, tf.float32))
        seen.append((float(s), float(l)))
        if (i + 1) % 100 == 0 or i == steps - 1:
            m = np.mean(seen[-100:], axis=0)
            log(f"step {i + 1:5d}/{steps}  lr {rate:.2e}  score loss {m[0]:.4f}  locref loss {m[1]:.4f}  "
                f"{time.time() - start:6.0f} s")
    return {n: (k.numpy(), b.numpy()) for n, (k, b) in variables.items()}


class _Adam:
    """Plain Adam over a list of variables (no Keras needed)."""

    def __init__(self, variables, lr, beta1=0.9, beta2=0.999, eps=1e-7):
        self.vars, self.b1, self.b2, self.eps = variables, beta1, beta2, eps
        self.m = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.t = tf.Variable(0.0)

    def apply(self, grads, rate):
        self.t.assign_add(1.0)
        c1, c2 = 1.0 - self.b1 ** self.t, 1.0 - self.b2 ** self.t
        for var, g, m, v in zip(self.vars, grads, self.m, self.v):
            m.assign(self.b1 * m + (1 - self.b1) * g)
            v.assign(self.b2 * v + (1 - self.b2) * g * g)
            var.assign_sub(rate * (m / c1) / (tf.sqrt(v / c2) + self.eps))


# ---------------------------------------------------------------------------------------- export

def export(params: dict, folder: Path) -> Path:
    """Write the frozen graph snapshot.pb, pose_cfg.yaml and config.yaml into `folder` (created)."""
    v1 = tf.compat.v1
    folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, shape=[None, None, None, 3], name="Placeholder")  # first op
        consts = {n: (tf.constant(k), tf.constant(b)) for n, (k, b) in params.items()}
        logits, _ = forward(x, consts)  # locref's BiasAdd is the last op made here
        tf.sigmoid(logits, name="Sigmoid")  # the last op: the score map
    ops = graph.get_operations()
    assert ops[0].name == "Placeholder" and ops[-1].name == "Sigmoid" and ops[-2].type == "BiasAdd", \
        [o.name for o in ops[-2:]]
    for old in folder.glob("*.pb"):
        old.unlink()
    (folder / "snapshot.pb").write_bytes(graph.as_graph_def().SerializeToString())
    names = "".join(f"- {j}\n" for j in JOINTS)
    (folder / "pose_cfg.yaml").write_text(
        f"# OmniTrax default ant pose model (tools/train_pose.py); crops of 64-128 px around the track position\n"
        f"all_joints_names:\n{names}num_joints: {len(JOINTS)}\nall_joints:\n"
        + "".join(f"- - {i}\n" for i in range(len(JOINTS)))
        + f"location_refinement: true\nlocref_stdev: {LOCREF_STDEV}\nstride: {STRIDE}\n"
          f"net_type: omnitrax_small\ndataset_type: default\n")
    bones = "".join(f"- - {a}\n  - {b}\n" for a, b in SKELETON)
    (folder / "config.yaml").write_text(f"Task: ants\nscorer: omnitrax\nmultianimalproject: false\n"
                                        f"bodyparts:\n{names}skeleton:\n{bones}")
    return folder


# ------------------------------------------------------------------------------------ evaluation

def pose_errors(poses, gt: GroundTruth, frames) -> np.ndarray:
    """(rows, J) pixel distances between estimated and true keypoints over the given frames."""
    ids = np.unique(gt.id)
    est, _, _ = poses.to_array(ids=ids, frames=frames)  # (F, T, J, 3)
    truth = np.full(est.shape[:3] + (2,), np.nan)
    keep = np.isin(gt.frame, frames)
    fi = np.searchsorted(np.asarray(frames), gt.frame[keep])
    ti = np.searchsorted(ids, gt.id[keep])
    truth[fi, ti] = keypoints_of(gt, keep)
    return np.hypot(*(est[..., :2] - truth).transpose(3, 0, 1, 2)).reshape(-1, len(JOINTS))


def summarise(errors: np.ndarray) -> str:
    parts = []
    for j, name in enumerate(JOINTS):
        e = errors[:, j]
        parts.append(f"{name}: median {np.nanmedian(e):.2f} px, p90 {np.nanpercentile(e, 90):.2f} px, "
                     f"PCK@3px {np.mean(e < 3.0) * 100:.1f}%")
    return "; ".join(parts)


def evaluate(folder: Path, workdir: Path, n_frames: int, log) -> dict:
    """Keypoint errors through PoseModel.load + estimate_poses on GT track positions."""
    from omnitrax import resources
    from omnitrax.pose.estimate import estimate_poses
    from omnitrax.pose.model import PoseModel

    clips = []
    for seed in VALID_SEEDS:
        path = workdir / f"valid_{seed}.avi"
        clips.append((f"valid seed {seed} ({clip_settings(seed)['polarity']})", path,
                      render_clip(path, n_frames=n_frames, fourcc="XVID", **clip_settings(seed))))
    if resources.sample_clip().is_file():
        clips.append(("sample clip", resources.sample_clip(), GroundTruth.from_csv(resources.sample_ground_truth())))
    results = {}
    with PoseModel.load(folder) as model:
        log(model.description)
        for roi in (96, 128):
            valid = []
            for label, path, gt in clips:
                frames = np.arange(int(gt.frame.max()) + 1)  # held-out clips: n_frames; sample: all
                start = time.time()
                poses = estimate_poses(path, gt.to_tracks(), model, frames=frames, roi_size=roi)
                errors = pose_errors(poses, gt, frames)
                took = time.time() - start
                if label.startswith("valid"):
                    valid.append(errors)
                else:
                    results[("sample", roi)] = errors
                    log(f"ROI {roi}: {label}, frames 0-{frames[-1]} ({len(errors)} poses, {took:.1f} s): "
                        f"{summarise(errors)}")
            results[("valid", roi)] = np.concatenate(valid)
            log(f"ROI {roi}: held-out clips {list(VALID_SEEDS)} ({len(results[('valid', roi)])} poses): "
                f"{summarise(results[('valid', roi)])}")
    return results


# ------------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "models")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--clips", type=int, default=len(TRAIN_SEEDS), help="training clips (seeds 2000...)")
    parser.add_argument("--frames", type=int, default=40, help="frames rendered per training clip")
    parser.add_argument("--every", type=int, default=4, help="use every n-th rendered frame")
    parser.add_argument("--eval-frames", type=int, default=60, help="frames per held-out clip")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    folder = args.out / "ants_pose"
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "ants_pose_train.log"
    log_file = log_path.open("w")

    def log(text):
        print(text, flush=True)
        log_file.write(text + "\n")
        log_file.flush()

    start = time.time()
    log(f"tools/train_pose.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    log(f"tensorflow {tf.__version__}, numpy {np.__version__}, opencv {cv2.__version__}; joints {JOINTS}, "
        f"stride {STRIDE}, locref_stdev {LOCREF_STDEV}, train crop {TRAIN_CROP} px, "
        f"params {count_params(init_params(0))}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        seeds = TRAIN_SEEDS[:args.clips]
        images, points = render_dataset(seeds, args.frames, args.every, TRAIN_CROP, workdir, log)
        log(f"data ready after {time.time() - start:.0f} s")
        params = train(images, points, args.steps, args.batch, args.lr, args.seed, log)
        del images
        export(params, folder)
        size = sum(f.stat().st_size for f in folder.iterdir())
        log(f"wrote {folder} ({size / 1e6:.2f} MB) after {time.time() - start:.0f} s")
        evaluate(folder, workdir, args.eval_frames, log)
    log(f"done in {time.time() - start:.0f} s")
    log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
