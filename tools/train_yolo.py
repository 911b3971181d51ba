"""Train the bundled single-class ant detector on synthetic clips and export it for OpenCV DNN.

    nice -n 10 python tools/train_yolo.py [--epochs 24] [--out data/models]

Writes <out>/ants_yolo.onnx (YOLOv8 layout [1, 4+1, N], boxes in input pixels, any input size that is
a multiple of 32, any batch), <out>/ants_yolo.names and <out>/ants_yolo_train.log (losses per epoch,
precision/recall at IoU 0.5 on held-out clips measured through YoloDetector).

Data: omnitrax.testclips.render_frames clips with seeds >= 1000 (both polarities, 10-30 animals); the
bundled sample clip is seed 0 and validation uses seeds 500-503, so neither is trained on. The frames
are scaled as the detector's letterbox scales them at input 416 (640x480 -> 416x312), with +-25% scale
jitter, flips, 90-degree turns and JPEG artefacts, and cut into 256x256 crops (grey letterbox padding included).

Network (~0.2 M parameters): a plain conv/BN/ReLU backbone down to stride 16, upsampled and fused with
the stride-8 features; an anchor-free head at stride 8 predicts per cell the box centre (within 1.5 cells
of the cell centre), its size (up to 96 px) and an animal score. Training assigns each animal to the
cell holding its centre and the two nearest neighbour cells (YOLOv5 style); losses: focal loss on the
score, 1 - GIoU plus a small L1 term on the boxes. Everything is seeded: the same command gives the
same model on the same machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax.detection import model_files  # noqa: E402
from omnitrax.detection.evaluation import MatchCounts  # noqa: E402
from omnitrax.detection.yolo import PAD_VALUE, YoloDetector  # noqa: E402
from omnitrax.testclips import render_frames  # noqa: E402

INPUT = 416  # the detector's default input size
SCALE = INPUT / 640  # letterbox scale of a 640x480 frame at that input
CROP = 256
STRIDE = 8
MAX_SIDE = 96.0  # largest box side the head can predict, input pixels
TRAIN_SEEDS = range(1000, 1048)
VALID_SEEDS = (500, 501, 502, 503)


def boxes_of(rows) -> np.ndarray:
    """Ground-truth (left, top, width, height) of one frame's rows."""
    return np.stack([np.asarray(rows[k], np.float64) for k in ("left", "top", "width", "height")], axis=1)


def clip_settings(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"n_animals": int(rng.integers(10, 31)), "seed": seed,
            "polarity": "dark_on_light" if seed % 2 == 0 else "light_on_dark"}


def render_dataset(seeds, n_frames: int, every: int) -> tuple[list, list]:
    """Frames (scaled by SCALE) and their boxes, every `every`-th frame of each clip."""
    frames, boxes = [], []
    for seed in seeds:
        for i, (frame, rows) in enumerate(render_frames(n_frames=n_frames, **clip_settings(seed))):
            if i % every == 0:
                frames.append(cv2.resize(frame, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA))
                boxes.append(boxes_of(rows) * SCALE)
    return frames, boxes


def random_crop(frame, boxes, rng) -> tuple[np.ndarray, np.ndarray]:
    """A CROP x CROP training image with jittered scale, flips, a 90-degree turn and grey padding."""
    s = rng.uniform(0.8, 1.25)
    image = cv2.resize(frame, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
    boxes = boxes * s
    h, w = image.shape[:2]
    x0 = int(rng.integers(-CROP // 4, max(w - CROP * 3 // 4, 1)))
    y0 = int(rng.integers(-CROP // 4, max(h - CROP * 3 // 4, 1)))
    crop = np.full((CROP, CROP, 3), PAD_VALUE, np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + CROP, w), min(y0 + CROP, h)
    crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    boxes = boxes - (x0, y0, 0, 0)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    boxes = boxes[((centres >= 0) & (centres < CROP)).all(axis=1)]
    if rng.random() < 0.5:
        crop, boxes = crop[:, ::-1], np.c_[CROP - boxes[:, 0] - boxes[:, 2], boxes[:, 1:]]
    if rng.random() < 0.5:
        crop, boxes = crop[::-1], np.c_[boxes[:, 0], CROP - boxes[:, 1] - boxes[:, 3], boxes[:, 2:]]
    if rng.random() < 0.5:  # transpose = turn + flip
        crop, boxes = crop.transpose(1, 0, 2), boxes[:, [1, 0, 3, 2]]
    crop = np.ascontiguousarray(crop)
    if rng.random() < 0.5:  # compression artefacts, as in the mp4v / MJPG videos users track
        _, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        crop = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return crop, boxes


def build_model():
    import torch
    from torch import nn

    class FlattenCells(torch.autograd.Function):
        """[B, K, H, W] -> [B, K, H*W], exported as Reshape(0, 0, -1) so any input size and batch run."""

        @staticmethod
        def forward(ctx, x):
            return x.flatten(2)

        @staticmethod
        def symbolic(g, x):
            return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor([0, 0, -1], dtype=torch.int64)))

    def conv(cin, cout, stride=1, k=3):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class AntNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv(3, 16, 2), conv(16, 24, 2), conv(24, 24), conv(24, 48, 2), conv(48, 48))
            self.deep = nn.Sequential(conv(48, 96, 2), conv(96, 96))
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.fuse = nn.Sequential(conv(144, 64, k=1), conv(64, 64))
            self.head = nn.Conv2d(64, 5, 1)
            nn.init.constant_(self.head.bias, 0.0)
            nn.init.constant_(self.head.bias[4:], -4.6)  # score prior 0.01

        def raw(self, x):
            """[B, 5, H/8, W/8] logits: centre offsets, sizes, score."""
            s8 = self.stem(x)
            return self.head(self.fuse(torch.cat([s8, self.up(self.deep(s8))], 1)))

        @staticmethod
        def decode(p):
            """Logits -> [B, 5, H, W] boxes (cx, cy, w, h in input pixels) and score. The cell grid comes
            from cumulative sums of ones, so the exported graph has no shape-dependent constants."""
            ones = p[:, 4:5] * 0 + 1
            gx, gy = torch.cumsum(ones, dim=3) - 0.5, torch.cumsum(ones, dim=2) - 0.5
            cx = (gx + 1.5 * torch.tanh(p[:, 0:1])) * STRIDE
            cy = (gy + 1.5 * torch.tanh(p[:, 1:2])) * STRIDE
            return torch.cat([cx, cy, MAX_SIDE * torch.sigmoid(p[:, 2:4]), torch.sigmoid(p[:, 4:5])], 1)

        def forward(self, x):
            return FlattenCells.apply(self.decode(self.raw(x)))

    return AntNet()


def targets(batch_boxes, grid: int):
    """Per image: (cell indices, target boxes cx,cy,w,h) for the centre cell and its two nearest neighbours."""
    cells, boxes, images = [], [], []
    for b, bx in enumerate(batch_boxes):
        if not len(bx):
            continue
        cxcywh = np.c_[bx[:, :2] + bx[:, 2:] / 2, bx[:, 2:]]
        g = cxcywh[:, :2] / STRIDE
        ij = np.floor(g).astype(int)
        frac = g - ij
        offsets = [np.zeros_like(ij), np.where(frac < 0.5, -1, 1) * [1, 0], np.where(frac < 0.5, -1, 1) * [0, 1]]
        for off in offsets:
            c = ij + off
            ok = ((c >= 0) & (c < grid)).all(axis=1)
            cells.append(c[ok, 1] * grid + c[ok, 0])
            boxes.append(cxcywh[ok])
            images.append(np.full(ok.sum(), b))
    if not cells:
        return np.zeros(0, int), np.zeros(0, int), np.zeros((0, 4))
    return np.concatenate(images), np.concatenate(cells), np.concatenate(boxes)


def loss_fn(model, images, batch_boxes):
    import torch
    import torch.nn.functional as F
    from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

    raw = model.raw(images)
    grid = raw.shape[-1]
    pred = model.decode(raw).flatten(2).transpose(1, 2)  # [B, cells, 5]
    logits = raw[:, 4].flatten(1)
    img, cell, target = (torch.as_tensor(a) for a in targets(batch_boxes, grid))
    score_target = torch.zeros_like(logits)
    score_target[img, cell] = 1.0
    n_pos = max(len(cell), 1)
    score_loss = sigmoid_focal_loss(logits, score_target, alpha=0.25, gamma=2.0, reduction="sum") / n_pos
    if not len(cell):
        return score_loss, score_loss.detach(), torch.zeros(())
    p = pred[img, cell, :4]
    t = target.float()
    xyxy = lambda b: torch.cat([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], 1)  # noqa: E731
    box_loss = generalized_box_iou_loss(xyxy(p), xyxy(t), reduction="mean") + 0.1 * F.l1_loss(p / STRIDE, t / STRIDE)
    return score_loss + 5.0 * box_loss, score_loss.detach(), box_loss.detach()


def evaluate(onnx_path: Path, names_path: Path, clips) -> MatchCounts:
    """Precision/recall at IoU 0.5 through YoloDetector at the default settings (input 416, confidence 0.5)."""
    detector = YoloDetector(onnx_path, input_size=INPUT, names_path=names_path)
    counts = MatchCounts()
    for frames, boxes in clips:
        for frame, truth in zip(frames, boxes):
            counts.add(detector.detect(frame).boxes, truth)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--steps-per-epoch", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "ants_yolo_train.log"
    log_file = log_path.open("w")

    def log(text):
        print(text, flush=True)
        log_file.write(text + "\n")
        log_file.flush()

    t0 = time.perf_counter()
    frames, boxes = render_dataset(TRAIN_SEEDS, n_frames=120, every=4)
    valid = []
    for seed in VALID_SEEDS:
        clip = [(f, boxes_of(r)) for f, r in render_frames(n_frames=40, **clip_settings(seed))]
        valid.append(([f for f, _ in clip], [b for _, b in clip]))
    log(f"# {Path(__file__).name}: seed {args.seed}, torch {torch.__version__}, OpenCV {cv2.__version__}")
    log(f"# training: {len(frames)} frames from {len(TRAIN_SEEDS)} synthetic clips (seeds "
        f"{TRAIN_SEEDS.start}-{TRAIN_SEEDS.stop - 1}, both polarities), {CROP}x{CROP} crops at scale {SCALE:.3f} "
        f"+-25%; validation: {sum(len(v[0]) for v in valid)} frames of clips {VALID_SEEDS}; "
        f"rendered in {time.perf_counter() - t0:.0f} s")

    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"# model: {n_params:,} parameters, stride {STRIDE}, input {INPUT}, batch {args.batch}, "
        f"{args.epochs} epochs x {args.steps_per_epoch} steps")
    total = args.epochs * args.steps_per_epoch
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=total, pct_start=0.1)
    names_path = args.out / "ants_yolo.names"
    names_path.write_text("ant\n")
    best = (-1.0, b"", 0)  # (validation F1, ONNX bytes, epoch)
    with tempfile.TemporaryDirectory() as tmp:
        for epoch in range(1, args.epochs + 1):
            model.train()
            sums = np.zeros(3)
            for _ in range(args.steps_per_epoch):
                picks = rng.integers(0, len(frames), args.batch)
                crops, crop_boxes = zip(*(random_crop(frames[i], boxes[i], rng) for i in picks))
                # RGB in [0, 1], as YoloDetector feeds OpenCV (swapRB=True, scale 1/255)
                images = torch.from_numpy(np.stack(crops)[..., ::-1].transpose(0, 3, 1, 2).copy()).float() / 255
                loss, score_loss, box_loss = loss_fn(model, images, crop_boxes)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                sums += [loss.item(), score_loss.item(), box_loss.item()]
            mean = sums / args.steps_per_epoch
            line = (f"epoch {epoch:3d}  loss {mean[0]:.4f}  score {mean[1]:.4f}  box {mean[2]:.4f}  "
                    f"lr {schedule.get_last_lr()[0]:.5f}  {time.perf_counter() - t0:6.0f} s")
            if epoch % 4 == 0 or epoch == args.epochs:
                candidate = model_files.export_onnx(model, Path(tmp) / f"epoch{epoch}.onnx", (INPUT, INPUT),
                                                    dynamic=False)
                counts = evaluate(candidate, names_path, valid)
                f1 = 2 * counts.tp / max(2 * counts.tp + counts.fp + counts.fn, 1)
                line += f"  validation {counts.text()}"
                if f1 > best[0]:
                    best = (f1, candidate.read_bytes(), epoch)
            log(line)
        onnx_path = args.out / "ants_yolo.onnx"
        onnx_path.write_bytes(best[1])
    counts = evaluate(onnx_path, names_path, valid)
    log(f"# final model (epoch {best[2]}, best validation F1): {onnx_path.name}, "
        f"{onnx_path.stat().st_size / 1e6:.2f} MB")
    log(f"# held-out clips {VALID_SEEDS}, IoU 0.5, input {INPUT}, confidence 0.5: {counts.text()}")
    log(f"# total time {time.perf_counter() - t0:.0f} s")
    log_file.close()


if __name__ == "__main__":
    main()
