"""Test clips and models for real units and class names (written by the tests, nothing downloaded).

- `disc_video`: discs moving in straight lines at exactly known speeds on a plain floor (MJPG, 25 fps),
  with `disc_detections` giving their exact boxes as a MOTChallenge detections file, one class per disc.
- `brightness_model` (torch): a two-class ONNX "detector" whose boxes sit on the discs' start positions and
  whose class follows the frame's brightness, so a clip whose brightness alternates has classes that
  change from frame to frame.
"""
from pathlib import Path

import cv2
import numpy as np

FPS = 25.0
SIZE = (320, 240)  # width, height
DISCS = [((40.0, 60.0), (4.0, 0.0)), ((40.0, 180.0), (3.0, 0.0))]  # start (x, y) px, velocity px/frame
RADIUS = 8


def disc_positions(n_frames: int) -> np.ndarray:
    """(n_frames, n_discs, 2) centres in pixels."""
    t = np.arange(n_frames)[:, None, None]
    start = np.array([s for s, _ in DISCS])[None]
    velocity = np.array([v for _, v in DISCS])[None]
    return start + t * velocity


def bright(frame: int) -> bool:
    """Brightness pattern: 10 bright frames, 10 dark frames, ..."""
    return (frame // 10) % 2 == 0


def disc_video(path: Path, n_frames: int = 60) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    for f, centres in enumerate(disc_positions(n_frames)):
        frame = np.full((SIZE[1], SIZE[0], 3), 200 if bright(f) else 120, np.uint8)
        for x, y in centres:
            cv2.circle(frame, (int(round(x)), int(round(y))), RADIUS, (30, 30, 30), -1, cv2.LINE_AA)
        writer.write(frame)
    writer.release()
    return path


def disc_detections(path: Path, n_frames: int = 60) -> Path:
    """MOTChallenge detections of the discs (exact boxes; disc i has class i)."""
    lines = []
    for f, centres in enumerate(disc_positions(n_frames)):
        for i, (x, y) in enumerate(centres):
            lines.append(f"{f + 1},-1,{x - RADIUS:.3f},{y - RADIUS:.3f},{2 * RADIUS},{2 * RADIUS},0.9,{i},-1,-1")
    path.write_text("\n".join(lines) + "\n")
    return path


def brightness_model(path: Path, size: int = 320) -> Path:
    """YOLOv5-layout ONNX: one box per disc start position; class 0 on bright frames, class 1 on dark ones."""
    import torch

    from omnitrax.detection import model_files

    scale = size / SIZE[0]  # letterbox of 320x240 into size x size: scaled by size/320, padded vertically
    pad = (size - SIZE[1] * scale) / 2
    boxes = torch.tensor([[x * scale, y * scale + pad, 2 * RADIUS * scale, 2 * RADIUS * scale]
                          for (x, y), _ in DISCS] + [[0.0, 0.0, 1.0, 1.0]] * 98)  # 100 rows: a YOLOv5 head's shape
    real = torch.tensor([0.95] * len(DISCS) + [0.0] * 98).reshape(1, -1, 1)

    class Brightness(torch.nn.Module):
        def forward(self, x):
            level = x.mean(dim=(1, 2, 3)).reshape(-1, 1, 1)  # ~0.78 bright, ~0.47 dark (+ the grey padding)
            first = torch.sigmoid((level - 0.58) * 80)
            rows = boxes.reshape(1, -1, 4).expand(x.shape[0], -1, -1)
            obj = real.expand(x.shape[0], -1, -1)
            return torch.cat([rows, obj, first.expand(-1, rows.shape[1], 1),
                              1 - first.expand(-1, rows.shape[1], 1)], dim=2)

    return model_files.export_onnx(Brightness(), path, (size, size), dynamic=True)
