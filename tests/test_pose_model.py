"""PoseModel on tiny TensorFlow models run by the real DeepLabCut-Live (no mocks)."""
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from pose_models import JOINTS, SKELETON, draw_spot, random_model, spot_model, torch_model, write_project_config

pytest.importorskip("dlclive")
from omnitrax.pose.model import PoseModel  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose_models")
    project = root / "project"
    write_project_config(project)
    return {
        "spot": spot_model(project / "exported-models" / "spot"),
        "fixed": spot_model(root / "fixed", batch=1),
        "random": random_model(root / "random", width=8, layers=4),
    }


@pytest.fixture(scope="module")
def spot(folders):
    with PoseModel.load(folders["spot"], threads=1) as model:
        yield model


def _spot_crops(n=5, size=48, seed=0):
    """Crops with one spot per joint at random places; returns crops (BGR) and (n, 3, 2) positions."""
    rng = np.random.default_rng(seed)
    crops = rng.integers(0, 20, (n, size, size, 3), dtype=np.uint8)  # dim noise
    where = rng.integers(4, size - 4, (n, 3, 2))
    band = size // 3  # joint j's spot in the j-th horizontal band: spots never overlap
    where[..., 1] = np.arange(3) * band + rng.integers(4, band - 4, (n, 3))
    for k in range(n):
        for j in range(3):
            draw_spot(crops[k], where[k, j, 0], where[k, j, 1], j)
    return crops, where


def test_spot_model_loads_with_names_skeleton_and_batching(spot):
    assert spot.joint_names == list(JOINTS)
    assert spot.skeleton == [tuple(b) for b in SKELETON]  # config.yaml two folders up
    assert spot.batched
    assert spot.input_size is None
    text = spot.description
    assert "tensorflow" in text and "3 joints" in text and "CPU" in text and "batched" in text
    assert "\n" not in text


def test_predict_finds_the_spots_in_crop_pixels(spot):
    crops, where = _spot_crops()
    pose = spot.predict(crops)
    assert pose.shape == (5, 3, 3)
    np.testing.assert_allclose(pose[..., :2], where, atol=1e-6)
    assert np.all(pose[..., 2] > 0.99)
    assert spot.predict([]).shape == (0, 3, 3)
    np.testing.assert_allclose(spot.predict(list(crops[:2])), pose[:2])


@pytest.mark.parametrize("name", ["spot", "fixed", "random"])
def test_batched_predict_equals_dlclive_get_pose_per_crop(folders, name):
    """The one-call batch path gives the keypoints of DLC-Live's own get_pose, crop by crop."""
    crops, _ = _spot_crops(n=6, size=64, seed=1)
    crops[3:] = np.random.default_rng(2).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    with PoseModel.load(folders[name], threads=1) as batched, \
            PoseModel.load(folders[name], batching=False, threads=1) as single:
        assert batched.batched and not single.batched
        assert "per crop" in single.description or "off" in single.description
        a, b = batched.predict(crops), single.predict(crops)
        reference = np.stack([batched._dlc.get_pose(c) for c in crops])  # DLC-Live itself
    np.testing.assert_allclose(a, b, atol=1e-3)
    np.testing.assert_allclose(a, reference, atol=1e-3)
    if name == "random":  # stride 8 with real offsets: not trivially on the grid
        assert not np.allclose(a[..., :2] % 8, 4)


def test_skeleton_by_hand_and_its_errors(folders, tmp_path):
    good = write_project_config(tmp_path / "good", skeleton=[["blue", "red"]])
    bad = write_project_config(tmp_path / "bad", skeleton=[["blue", "wing"]])
    with PoseModel.load(folders["fixed"], skeleton_config=good, threads=1) as model:
        assert model.skeleton == [("blue", "red")]
    with pytest.raises(OmniTraxError, match="wing"):
        PoseModel.load(folders["fixed"], skeleton_config=bad, threads=1)
    with pytest.raises(OmniTraxError, match="not found"):
        PoseModel.load(folders["fixed"], skeleton_config=tmp_path / "none.yaml", threads=1)
    with PoseModel.load(folders["fixed"], threads=1) as model:
        assert model.skeleton == []  # no config.yaml near this one
    broken = tmp_path / "broken.yaml"
    broken.write_text("skeleton: [a, b\n  bodyparts: {")
    with pytest.raises(OmniTraxError, match="Cannot read"):
        PoseModel.load(folders["fixed"], skeleton_config=broken, threads=1)
    import shutil

    nearby = shutil.copytree(folders["fixed"], tmp_path / "with_broken_config" / "model")
    (nearby.parent / "config.yaml").write_text(broken.read_text())
    with PoseModel.load(nearby, threads=1) as model:  # a broken config found nearby is ignored
        assert model.skeleton == []


def test_bad_model_folders_raise_one_line_user_errors(folders, tmp_path):
    def fails(match, folder, **kw):
        with pytest.raises(OmniTraxError, match=match) as err:
            PoseModel.load(folder, **kw)
        assert "\n" not in str(err.value)

    fails("not found", tmp_path / "missing")
    (tmp_path / "model.pb").write_bytes(b"x")
    fails("is a file", tmp_path / "model.pb")
    empty = tmp_path / "empty"
    empty.mkdir()
    fails("No pose model", empty)
    fails("No .pb", empty, model_type="tensorflow")
    fails("No .pt file", folders["spot"], model_type="pytorch")
    no_cfg = tmp_path / "no_cfg"
    no_cfg.mkdir()
    (no_cfg / "snapshot.pb").write_bytes((folders["spot"] / "snapshot.pb").read_bytes())
    fails("pose_cfg.yaml", no_cfg)
    (no_cfg / "pose_cfg.yaml").write_text("all_joints_names: [a]\n")
    fails("lacks", no_cfg)
    (no_cfg / "other.pb").write_bytes(b"x")
    fails("2 .pb files", no_cfg)
    for kind in ("lite", "tensorrt", "TFLite"):
        fails("broken", folders["spot"], model_type=kind)
    fails("Unknown model type", folders["spot"], model_type="onnx")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "snapshot.pb").write_bytes(b"this is not a graph")
    (damaged / "pose_cfg.yaml").write_text((folders["spot"] / "pose_cfg.yaml").read_text())
    fails("cannot run the model", damaged)


def test_predict_input_checks(spot):
    with pytest.raises(ValueError, match="equally sized"):
        spot.predict([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9, 3), np.uint8)])
    with pytest.raises(ValueError, match="HxWx3"):
        spot.predict(np.zeros((2, 8, 8), np.uint8))


# ---------------------------------------------------------------------------------- PyTorch (DLC 3)
@pytest.fixture(scope="module")
def torch_folder(tmp_path_factory):
    pytest.importorskip("timm")
    return torch_model(tmp_path_factory.mktemp("torch_model") / "resnet18")


def test_pytorch_batched_predict_equals_dlclive_get_pose_per_crop(torch_folder):
    crops = np.random.default_rng(4).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    with PoseModel.load(torch_folder, threads=1, device="cpu") as model:
        assert model.model_type == "pytorch" and model.batched
        assert model.joint_names == list(JOINTS)
        assert "pytorch" in model.description and "cpu" in model.description
        a = model.predict(crops)
        reference = np.stack([model._dlc.get_pose(c) for c in crops])  # DLC-Live itself, crop by crop
    assert a.shape == (5, 3, 3)
    np.testing.assert_allclose(a, reference, atol=1e-3)
    assert np.ptp(a[:, 0, 0]) > 0  # crop-dependent output, so the comparison means something
    with PoseModel.load(torch_folder, model_type="pytorch", batching=False, threads=1, device="cpu") as single:
        np.testing.assert_allclose(single.predict(crops), a, atol=1e-3)


def test_bad_pytorch_model_folders(torch_folder, tmp_path):
    import shutil

    import torch

    def fails(match, folder):
        with pytest.raises(OmniTraxError, match=match) as err:
            PoseModel.load(folder, device="cpu")
        assert "\n" not in str(err.value)

    raw = torch.load(next(torch_folder.glob("*.pt")), weights_only=True)
    cases = {
        "garbage": (b"not a model", "Cannot read"),
        "no_weights": ({"config": raw["config"]}, "no 'pose' weights"),
        "no_config": ({"pose": raw["pose"]}, "no model config"),
        "top_down": ({"config": dict(raw["config"], method="td"), "pose": raw["pose"]}, "top-down"),
    }
    for name, (content, match) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        if isinstance(content, bytes):
            (folder / "snapshot.pt").write_bytes(content)
        else:
            torch.save(content, folder / "snapshot.pt")
        fails(match, folder)
    two = tmp_path / "two"
    shutil.copytree(torch_folder, two)
    shutil.copy(two / "snapshot.pt", two / "other.pt")
    fails("2 .pt files", two)
