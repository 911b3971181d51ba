"""Where the bundled sample clip and default models live, in the repository and inside the zip."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """`data/` beside the package files (extension zip) or at the repository root (checkout)."""
    for candidate in (_PACKAGE / "data", _PACKAGE.parent / "data"):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / "data"


def sample_clip() -> Path:
    return data_dir() / "sample" / "ants.avi"


def sample_ground_truth() -> Path:
    return data_dir() / "sample" / "ants_gt.csv"


def default_yolo_model() -> Path:
    return data_dir() / "models" / "ants_yolo.onnx"


def default_yolo_names() -> Path:
    return data_dir() / "models" / "ants_yolo.names"


def default_pose_model() -> Path:
    """The bundled DeepLabCut-format ant pose model folder (head, thorax, abdomen; tools/train_pose.py)."""
    return data_dir() / "models" / "ants_pose"
