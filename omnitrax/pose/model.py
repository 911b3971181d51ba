"""A DeepLabCut pose model loaded with DeepLabCut-Live 1.1.0, predicting many crops per call.

Supported: exported TensorFlow models (a folder with pose_cfg.yaml and one frozen-graph .pb,
DLC-Live model_type "base") and bottom-up DeepLabCut 3 PyTorch models (a folder with one .pt holding
{"config": ..., "pose": state_dict}, model_type "pytorch"). DLC-Live 1.1.0's "lite" (TFLite) and
TensorRT paths are broken and are refused. dlclive, tensorflow and torch are imported only when a
model is loaded.

predict() takes crops as OpenCV gives them (BGR uint8, like DLCLive.get_pose, which converts them to
RGB) and returns keypoints in crop pixels (origin top-left, integer = pixel centre, DLC's own
convention) with the network's likelihood.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError

BROKEN_TYPES = ("lite", "tflite", "tensorrt")
MODEL_TYPES = ("auto", "tensorflow", "base", "pytorch")
PROBE_SIZE = 64  # crop size (px) used to start and check the network when the model has no fixed size
SAME_POSE_TOLERANCE = 1e-3  # px: the batched path must agree with get_pose this closely


def _read_yaml(path: Path) -> dict:
    import ruamel.yaml  # a dependency of deeplabcut-live

    try:
        with open(path, encoding="utf-8") as f:
            data = ruamel.yaml.YAML(typ="safe", pure=True).load(f)
    except (OSError, ruamel.yaml.YAMLError) as exc:
        raise OmniTraxError(f"Cannot read {path} ({_first_line(exc)}); fix or re-export the file.") from None
    if not isinstance(data, dict):
        raise OmniTraxError(f"{path} is not a YAML mapping; is it a DeepLabCut config file?")
    return data


def _find_project_config(folder: Path) -> Path | None:
    """The DLC project config.yaml next to the model folder or up to two folders above it."""
    for parent in [folder, *list(folder.parents)[:2]]:
        candidate = parent / "config.yaml"
        if candidate.is_file():
            return candidate
    return None


def read_skeleton(path, joints, strict: bool = True) -> list[tuple[str, str]]:
    """Joint-name pairs from the `skeleton` entry of a DLC project config.yaml.

    strict: raise OmniTraxError for pairs naming joints the model does not have (a config given by
    hand); otherwise such pairs are dropped (a config found next to the model).
    """
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Skeleton config {path} not found; give a DeepLabCut project config.yaml.")
    bones = _read_yaml(path).get("skeleton") or []
    if not isinstance(bones, list):
        raise OmniTraxError(f"'skeleton' in {path} is not a list of joint pairs.")
    pairs, unknown = [], set()
    for bone in bones:
        if not (isinstance(bone, (list, tuple)) and len(bone) == 2):
            raise OmniTraxError(f"'skeleton' in {path} has the entry {bone!r}; each must be a pair of joint names.")
        a, b = str(bone[0]), str(bone[1])
        missing = {a, b} - set(joints)
        if missing:
            unknown |= missing
            continue
        pairs.append((a, b))
    if unknown and strict:
        raise OmniTraxError(f"The skeleton in {path} names joints the model lacks ({', '.join(sorted(unknown))}); "
                            f"the model's joints are {', '.join(joints)}.")
    return pairs


def _check_folder(folder) -> Path:
    folder = Path(folder)
    if not folder.exists():
        raise OmniTraxError(f"Pose model folder {folder} not found; check the path.")
    if not folder.is_dir():
        raise OmniTraxError(f"{folder} is a file; give the folder of an exported DeepLabCut model "
                            f"(pose_cfg.yaml + one .pb, or one .pt).")
    return folder


def _model_type(folder: Path, model_type: str) -> str:
    """'tensorflow' or 'pytorch' for a model folder, checking that the files the type needs are there."""
    kind = str(model_type).lower()
    if kind in BROKEN_TYPES:
        raise OmniTraxError(f"Model type '{model_type}' is not supported: DeepLabCut-Live 1.1.0's lite/TensorRT "
                            f"paths are broken; use 'auto', 'tensorflow' or 'pytorch'.")
    if kind not in MODEL_TYPES:
        raise OmniTraxError(f"Unknown model type '{model_type}'; choose one of {', '.join(MODEL_TYPES)}.")
    pbs, pts = sorted(folder.glob("*.pb")), sorted(folder.glob("*.pt"))
    if kind == "auto":
        if not pbs and not pts:
            raise OmniTraxError(f"No pose model in {folder}: expected pose_cfg.yaml and one .pb file (TensorFlow) "
                                f"or one .pt file (PyTorch); export the model with deeplabcut.export_model.")
        kind = "tensorflow" if pbs else "pytorch"
    if kind == "pytorch":
        if not pts:
            raise OmniTraxError(f"No .pt file in {folder}; a PyTorch model folder needs the exported DeepLabCut 3 "
                                f".pt file.")
        if len(pts) > 1:
            raise OmniTraxError(f"{folder} holds {len(pts)} .pt files ({', '.join(p.name for p in pts)}); keep only "
                                f"the exported model's one.")
        return "pytorch"
    if not pbs:
        raise OmniTraxError(f"No .pb file in {folder}; a TensorFlow model folder needs pose_cfg.yaml and one "
                            f"frozen-graph .pb (deeplabcut.export_model).")
    if len(pbs) > 1:
        raise OmniTraxError(f"{folder} holds {len(pbs)} .pb files ({', '.join(p.name for p in pbs)}); keep only "
                            f"the exported model's one.")
    if not (folder / "pose_cfg.yaml").is_file():
        raise OmniTraxError(f"{folder} has a .pb model but no pose_cfg.yaml; copy the exported model's "
                            f"pose_cfg.yaml next to it.")
    return "tensorflow"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _import_dlclive(kind: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Importing torchvision after tensorflow segfaults here (torchvision 0.29.1, tensorflow-cpu 2.21, measured);
    # the other order works, so torchvision (used by dlclive's PyTorch runner) goes first.
    if "tensorflow" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except ImportError:
            pass
    elif kind == "pytorch" and "torchvision" not in sys.modules:
        raise OmniTraxError("A PyTorch pose model cannot be loaded after TensorFlow in the same process "
                            "(torchvision crashes); restart and load the PyTorch model first.")
    try:
        from dlclive import DLCLive
        if kind == "tensorflow":
            import tensorflow  # noqa: F401
        else:
            import dlclive.pose_estimation_pytorch.runner  # noqa: F401  (needs torch, torchvision, timm)
    except ImportError as exc:
        needs = "tensorflow" if kind == "tensorflow" else "torch, torchvision and timm"
        raise OmniTraxError(f"{kind} pose models need deeplabcut-live and {needs} ({_first_line(exc)}); install the "
                            f"pose dependencies.") from None
    return DLCLive


def _read_torch_config(path: Path) -> dict:
    import torch

    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise OmniTraxError(f"Cannot read the PyTorch model {path} ({_first_line(exc)}); re-export it with "
                            f"deeplabcut.export_model.") from None
    if not isinstance(raw, dict) or "pose" not in raw:
        raise OmniTraxError(f"{path} is not an exported DeepLabCut 3 model (no 'pose' weights); re-export it with "
                            f"deeplabcut.export_model.")
    cfg = raw.get("config")
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise OmniTraxError(f"{path} holds no model config; re-export it with deeplabcut.export_model.")
    if cfg.get("method", "bu") != "bu":
        raise OmniTraxError(f"{path} is a top-down model (it needs its own detector); OmniTrax cuts the crops "
                            f"itself: use a bottom-up (single-animal) model.")
    return cfg


@dataclass
class PoseModel:
    """A loaded pose network. Make one with PoseModel.load(folder); close() frees it.

    joint_names: the model's body parts, in output order.
    skeleton:    joint-name pairs to draw as bones (empty when no config gave one).
    input_size:  the square crop size (px) the network needs, or None when any size works
                 (DeepLabCut's exported models take any size).
    batched:     True when predict() runs all crops in one network call.
    device:      where the network runs ("CPU", "cuda", ...).
    """

    folder: Path
    model_type: str
    joint_names: list
    skeleton: list = field(default_factory=list)
    input_size: int | None = None
    batched: bool = False
    device: str = "CPU"
    note: str = ""  # why batching is off, when it is
    _dlc: object = None
    _session: object = None  # TF: (session, input tensor, output tensors) of the batched path
    _cfg: dict = field(default_factory=dict)
    _tf_config: object = None

    # -------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, folder, model_type: str = "auto", skeleton_config=None, batching: bool = True,
             threads: int | None = None, device: str | None = None) -> "PoseModel":
        """Load an exported DeepLabCut model folder with DeepLabCut-Live.

        folder:     TensorFlow: pose_cfg.yaml + one frozen-graph .pb; PyTorch (DeepLabCut 3): one .pt.
        model_type: "auto" (TensorFlow when the folder has a .pb, else PyTorch), "tensorflow" / "base",
                    or "pytorch". "lite" and "tensorrt" are refused (broken in DeepLabCut-Live 1.1.0).
        skeleton_config: a DLC project config.yaml whose `skeleton` to use; default: the config.yaml
                         in the model folder or up to two folders above, when there is one.
        batching:   False forces one DLC-Live get_pose call per crop (for comparisons).
        threads:    CPU threads for the network (None: the library's default). PyTorch's setting is
                    process-wide.
        device:     PyTorch only: "cpu", "cuda", "cuda:0", ... (None: cuda when available).
        """
        folder = _check_folder(folder)
        kind = _model_type(folder, model_type)
        DLCLive = _import_dlclive(kind)
        if kind == "tensorflow":
            cfg = _read_yaml(folder / "pose_cfg.yaml")
            missing = [k for k in ("stride", "location_refinement") if k not in cfg]
            if missing:
                raise OmniTraxError(f"{folder / 'pose_cfg.yaml'} lacks {', '.join(missing)}; is it an exported "
                                    f"DeepLabCut pose_cfg.yaml?")
            if cfg.get("location_refinement") and "locref_stdev" not in cfg:
                raise OmniTraxError(f"{folder / 'pose_cfg.yaml'} lacks locref_stdev; re-export the model.")
            names = cfg.get("all_joints_names") or []
        else:
            cfg = _read_torch_config(next(folder.glob("*.pt")))
            names = (cfg.get("metadata") or {}).get("bodyparts") or []
        model = cls(folder=folder, model_type=kind, joint_names=[], _cfg=cfg)
        model._start(DLCLive, threads, device)
        n = np.asarray(model._dlc.pose).shape[0]
        model.joint_names = [str(j) for j in names] if len(names) == n else [f"joint{i}" for i in range(n)]
        if skeleton_config is not None:
            model.skeleton = read_skeleton(skeleton_config, model.joint_names, strict=True)
        else:
            found = _find_project_config(folder)
            try:
                model.skeleton = read_skeleton(found, model.joint_names, strict=False) if found else []
            except OmniTraxError:  # an unreadable config nearby is not the model's: no skeleton then
                model.skeleton = []
        if batching:
            model._start_batching()
        else:
            model.note = "batching off by request"
        return model

    def _start(self, DLCLive, threads, device):
        probe = np.zeros((PROBE_SIZE, PROBE_SIZE, 3), np.uint8)
        try:
            if self.model_type == "tensorflow":
                import tensorflow as tf

                if threads:
                    self._tf_config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=int(threads),
                                                               inter_op_parallelism_threads=1)
                self._dlc = DLCLive(str(self.folder), model_type="base", tf_config=self._tf_config)
                self._dlc.init_inference(probe)
                self.device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
            else:
                import torch

                if threads:
                    torch.set_num_threads(int(threads))
                pt = next(self.folder.glob("*.pt"))
                self._dlc = DLCLive(str(pt), model_type="pytorch", device=device, single_animal=True)
                self._dlc.init_inference(probe)
                self.device = str(self._dlc.runner.device)
        except OmniTraxError:
            raise
        except Exception as exc:  # a damaged or foreign model surfaces here as a TF/protobuf/torch error
            raise OmniTraxError(f"DeepLabCut-Live cannot run the model in {self.folder} ({_first_line(exc)}); "
                                f"re-export it with deeplabcut.export_model.") from None

    def _start_batching(self):
        if self.model_type == "tensorflow":
            runner = self._dlc.runner
            if len(runner.outputs) < 2:
                self.note = "one get_pose per crop: the model decodes poses inside its graph (TFGPUinference)"
                return
            if runner.inputs.shape.rank == 4 and runner.inputs.shape[0] is None:
                self._session = (runner.sess, runner.inputs, runner.outputs)
            else:
                try:
                    self._session = self._batch_graph(runner)
                except Exception as exc:
                    self.note = f"one get_pose per crop: cannot rebuild the graph for batches ({type(exc).__name__})"
                    return
        # check: a batch of two different crops gives get_pose's keypoints
        rng = np.random.default_rng(0)
        probe = rng.integers(0, 256, (2, PROBE_SIZE, PROBE_SIZE, 3), dtype=np.uint8)
        try:
            batched = self._predict_batched(probe)
            ok = batched.shape[0] == 2 and np.allclose(batched, self._predict_each(probe),
                                                       atol=SAME_POSE_TOLERANCE)
        except Exception:
            ok = False
        if ok:
            self.batched = True
        else:
            self._session = None
            self.note = "one get_pose per crop: the network does not give per-crop results for a batch"

    def _batch_graph(self, runner):
        """A copy of the model's graph whose input placeholder accepts any batch size."""
        import glob

        import tensorflow as tf
        from dlclive.pose_estimation_tensorflow.graph import read_graph

        v1 = tf.compat.v1
        graph_def = read_graph(glob.glob(str(self.folder / "*.pb"))[0])
        input_name = runner.inputs.name.split("/", 1)[1]  # without the "DLC/" scope
        graph = tf.Graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, shape=[None, None, None, 3], name="batch_input")
            tf.import_graph_def(graph_def, input_map={input_name: x}, name="DLC")
        graph.finalize()
        session = v1.Session(graph=graph, config=self._tf_config)
        outputs = [graph.get_tensor_by_name(t.name) for t in runner.outputs]
        return session, x, outputs

    # ----------------------------------------------------------------------------- predicting
    @property
    def description(self) -> str:
        """One line: model type, joints, device, batching."""
        mode = "batched" if self.batched else (self.note or "one get_pose per crop")
        return (f"DeepLabCut {self.model_type} model '{self.folder.name}': {len(self.joint_names)} joints "
                f"({', '.join(self.joint_names)}), {self.device}, {mode}")

    def predict(self, images) -> np.ndarray:
        """Keypoints for K equally sized crops.

        images: (K, H, W, 3) array or list of HxWx3 uint8 BGR images.
        Returns (K, J, 3) float64: x, y in crop pixels and the likelihood per joint.
        """
        if self._dlc is None:
            raise OmniTraxError("The pose model is closed; load it again.")
        if isinstance(images, np.ndarray) and images.ndim == 4:
            batch = images
        else:
            images = list(images)
            if not images:
                return np.zeros((0, len(self.joint_names), 3))
            shapes = {np.shape(im) for im in images}
            if len(shapes) > 1:
                raise ValueError(f"predict needs equally sized crops, got shapes {sorted(shapes)}")
            batch = np.stack(images)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"predict needs HxWx3 images, got a batch of shape {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, len(self.joint_names), 3))
        if self.batched:
            return self._predict_batched(batch)
        return self._predict_each(batch)

    def _predict_each(self, batch) -> np.ndarray:
        # (J, 3); TF models with num_outputs > 1 give (J, 3 * n), best candidate first
        return np.stack([np.asarray(self._dlc.get_pose(im), np.float64)[:, :3] for im in batch])

    def _predict_batched(self, batch) -> np.ndarray:
        rgb = _bgr_to_rgb(batch)  # as DLCLive does before running the network
        if self.model_type == "pytorch":
            return self._torch_batch(rgb)
        session, x, outputs = self._session
        scmap, locref = session.run(outputs[:2], feed_dict={x: rgb.astype(np.float32)})
        return decode(scmap, locref if self._cfg.get("location_refinement") else None,
                      float(self._cfg["stride"]), float(self._cfg.get("locref_stdev", 1.0)))

    def _torch_batch(self, rgb) -> np.ndarray:
        """One forward pass on the whole batch, the steps of DLC-Live's PyTorchRunner.get_pose."""
        import torch

        runner = self._dlc.runner
        with torch.inference_mode():
            x = runner.pose_transform(torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2))
            x = x.to(runner.device)
            if runner.precision == "FP16":
                x = x.half()
            poses = runner.model.get_predictions(runner.model(x))["bodypart"]["poses"]  # (K, animals, J, 3)
            return poses[:, 0].float().cpu().numpy().astype(np.float64)

    def close(self):
        if self._session is not None and self._session[0] is not self._dlc.runner.sess:
            self._session[0].close()
        self._session = None
        if self._dlc is not None:
            self._dlc.close()
            self._dlc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _bgr_to_rgb(batch: np.ndarray) -> np.ndarray:
    """(K, H, W, 3) BGR -> RGB, same dtype (OpenCV's channel swap is several times faster than numpy's)."""
    k, h, w, _ = batch.shape
    if batch.dtype == np.uint8 and h * k < 32768 and w < 32768:
        import cv2

        rgb = cv2.cvtColor(np.ascontiguousarray(batch).reshape(k * h, w, 3), cv2.COLOR_BGR2RGB)
        return rgb.reshape(k, h, w, 3)
    return np.ascontiguousarray(batch[..., ::-1])


def decode(scmap: np.ndarray, locref, stride: float, locref_stdev: float) -> np.ndarray:
    """DLC's argmax decoding for a batch: score maps (K, h, w, J), offsets (K, h, w, 2J) -> (K, J, 3).

    For each crop and joint: the best cell (row i, column j), x = j * stride + stride / 2 + dx,
    y = i * stride + stride / 2 + dy, with (dx, dy) the cell's offsets times locref_stdev;
    the likelihood is the cell's score (DLC-Live's argmax_pose_predict, vectorised).
    """
    k, h, w, n = scmap.shape
    flat = scmap.reshape(k, h * w, n)
    best = np.argmax(flat, axis=1)  # (K, J), first maximum like np.argmax in DLC-Live
    rows, cols = np.divmod(best, w)
    kk, jj = np.meshgrid(np.arange(k), np.arange(n), indexing="ij")
    out = np.empty((k, n, 3), np.float64)
    out[..., 0] = cols * stride + 0.5 * stride
    out[..., 1] = rows * stride + 0.5 * stride
    out[..., 2] = flat[kk, best, jj]
    if locref is not None:
        offsets = locref.reshape(k, h, w, n, 2)[kk, rows, cols, jj] * locref_stdev  # (K, J, 2): dx, dy
        out[..., :2] += offsets
    return out
