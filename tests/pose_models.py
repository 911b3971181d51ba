"""Tiny DeepLabCut-Live model folders built offline, for tests and benchmarks.

`spot_model`: a TensorFlow frozen graph whose score map for joint j peaks on a bright spot of pure
colour j (joint 0 red, 1 green, 2 blue), so the keypoint a correct pipeline must return is known:
the spot's centre pixel. Stride 1, location refinement constant -0.5 px, so a peak at score-map cell
(i, j) decodes to exactly crop pixel (j, i) in DLC's formula `cell * stride + stride / 2 + offset`.

`random_model`: a bigger random-weight network (strided 3x3 convolutions, stride 8) with the same
interface, for speed measurements only.

`torch_model`: a DeepLabCut 3 PyTorch model (timm resnet18, random weights) for PyTorch-path checks.

Importing this module imports torchvision first: torchvision imported after tensorflow segfaults.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

JOINTS = ("red", "green", "blue")
SKELETON = [["red", "green"], ["green", "blue"]]
RGB_OF_JOINT = {0: (255, 0, 0), 1: (0, 255, 0), 2: (0, 0, 255)}  # RGB colour each joint responds to


def _torchvision_first():
    """Import torchvision before anything imports tensorflow (`import dlclive` does): importing
    torchvision (its torch._dynamo / triton imports) after tensorflow segfaults here."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        pass


_torchvision_first()  # before any test imports dlclive (which imports tensorflow)


def _tensorflow():
    _torchvision_first()
    import tensorflow as tf

    return tf


def _write_cfg(folder: Path, joints, stride: int, locref_stdev: float = 1.0, extra: str = ""):
    names = "".join(f"- {j}\n" for j in joints)
    text = (f"all_joints_names:\n{names}num_joints: {len(joints)}\nlocation_refinement: true\n"
            f"locref_stdev: {locref_stdev}\nstride: {stride}\n{extra}")
    (folder / "pose_cfg.yaml").write_text(text)


def _save_graph(graph, folder: Path, name: str = "snapshot.pb"):
    (folder / name).write_bytes(graph.as_graph_def().SerializeToString())


def spot_model(folder, batch: int | None = None, joints=JOINTS) -> Path:
    """Write the spot model into `folder` (created); `batch` fixes the placeholder's batch size."""
    tf = _tensorflow()

    v1 = tf.compat.v1
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(joints)
    # 1x1 colour filter: joint j = channel j minus the other two (pure colours stand out)
    colour = -np.ones((1, 1, 3, n), np.float32)
    for j in range(n):
        colour[0, 0, j % 3, j] = 2.0
    # 5x5 Gaussian smoothing per joint, so a symmetric spot peaks at its centre pixel
    g = np.exp(-0.5 * ((np.arange(5) - 2) / 1.2) ** 2)
    g2 = (g[:, None] * g[None, :]) / np.sum(g) ** 2
    smooth = np.zeros((5, 5, n, n), np.float32)
    for j in range(n):
        smooth[:, :, j, j] = g2
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, shape=[batch, None, None, 3], name="Placeholder")
        c = tf.nn.conv2d(x, tf.constant(colour), strides=1, padding="SAME")
        s = tf.nn.conv2d(c, tf.constant(smooth), strides=1, padding="SAME")
        logits = (s - tf.constant(60.0, tf.float32)) * tf.constant(0.05, tf.float32)
        zero = tf.constant(np.zeros((1, 1, 3, 2 * n), np.float32))
        loc = tf.nn.conv2d(x, zero, strides=1, padding="SAME")
        loc = tf.nn.bias_add(loc, tf.constant(np.full(2 * n, -0.5, np.float32)), name="locref")
        tf.sigmoid(logits, name="Sigmoid")
    _save_graph(graph, folder)
    _write_cfg(folder, joints, stride=1)
    return folder


def random_model(folder, width: int = 32, layers: int = 6, joints=JOINTS, seed: int = 0) -> Path:
    """A random-weight stride-8 network (about MobileNet-head cost per pixel), for benchmarks."""
    tf = _tensorflow()

    v1 = tf.compat.v1
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(joints)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, shape=[None, None, None, 3], name="Placeholder")
        h, ch = x / 255.0, 3
        for i in range(layers):
            w = rng.normal(0, np.sqrt(2.0 / (9 * ch)), (3, 3, ch, width)).astype(np.float32)
            h = tf.nn.relu(tf.nn.conv2d(h, tf.constant(w), strides=2 if i < 3 else 1, padding="SAME"))
            ch = width
        ws = rng.normal(0, 0.1, (1, 1, ch, n)).astype(np.float32)
        wl = rng.normal(0, 0.1, (1, 1, ch, 2 * n)).astype(np.float32)
        logits = tf.nn.conv2d(h, tf.constant(ws), strides=1, padding="SAME")
        tf.nn.conv2d(h, tf.constant(wl), strides=1, padding="SAME", name="locref")
        tf.sigmoid(logits, name="Sigmoid")
    _save_graph(graph, folder)
    _write_cfg(folder, joints, stride=8, locref_stdev=7.2801)
    return folder


def torch_model(folder, joints=JOINTS, seed: int = 0, backbone: str = "resnet18") -> Path:
    """A DeepLabCut 3 bottom-up PyTorch model (timm ResNet backbone, random weights, heatmap + locref
    head, model stride 16) exported as `folder/snapshot.pt` = {"config": ..., "pose": state_dict}."""
    _torchvision_first()
    import torch
    from dlclive.pose_estimation_pytorch.models import PoseModel as DLCPoseModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(joints)
    head = {"type": "HeatmapHead",
            "predictor": {"type": "HeatmapPredictor", "location_refinement": True, "locref_std": 7.2801},
            "heatmap_config": {"channels": [512, n], "kernel_size": [3], "strides": [2]},
            "locref_config": {"channels": [512, 2 * n], "kernel_size": [3], "strides": [2]}}
    config = {
        "method": "bu",
        "metadata": {"project_path": "", "pose_config_path": "", "bodyparts": list(joints),
                     "unique_bodyparts": [], "individuals": ["animal"], "with_identity": None},
        "data": {"inference": {"normalize_images": True}},
        "model": {"backbone": {"type": "ResNet", "model_name": backbone, "output_stride": 32,
                               "pretrained": False, "freeze_bn_stats": True, "freeze_bn_weights": False},
                  "backbone_output_channels": 512, "heads": {"bodypart": head}},
    }
    torch.manual_seed(seed)
    net = DLCPoseModel.build(dict(config["model"], backbone=dict(config["model"]["backbone"])))
    # random BN statistics, so the untrained network gives varied, crop-dependent outputs
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    torch.save({"config": config, "pose": net.state_dict()}, folder / "snapshot.pt")
    return folder


def draw_spot(image_bgr: np.ndarray, x: int, y: int, joint: int, radius: int = 2):
    """Draw joint `joint`'s colour as a filled disc centred on pixel (x, y) of a BGR image."""
    import cv2

    r, g, b = RGB_OF_JOINT[joint % 3]
    cv2.circle(image_bgr, (int(x), int(y)), radius, (b, g, r), thickness=-1, lineType=cv2.LINE_8)


def write_project_config(folder, bodyparts=JOINTS, skeleton=SKELETON) -> Path:
    """A minimal DeepLabCut project config.yaml (bodyparts and skeleton) in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = "".join(f"- {b}\n" for b in bodyparts)
    bones = "".join(f"- - {a}\n  - {b}\n" for a, b in skeleton)
    path = folder / "config.yaml"
    path.write_text(f"Task: test\nscorer: omnitrax\nbodyparts:\n{parts}skeleton:\n{bones}")
    return path
