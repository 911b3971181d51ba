"""Convert to ONNX inside real Blender: the installed add-on's operator on Darknet files written here.

One scenario run (tests/blender_scenarios/models.py, one Blender process) converts the scene's model
beside its .cfg, then to a chosen path, then tries weights that do not fit; each test checks one
behaviour of its cached result.
"""
import json

import pytest

from blender_harness import run_scenario
from omnitrax.detection import model_files, onnx_proto


@pytest.fixture(scope="module")
def converted(linux_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("convert_darknet")
    text = model_files.yolov3_tiny_cfg(classes=2, width=320, height=320, base=2)
    cfg = root / "ants.cfg"
    cfg.write_text(text)
    model_files.write_darknet_weights(text, root / "ants.weights", seed=2)
    (root / "labels.txt").write_text("worker\nqueen\n")
    bad_cfg = root / "other.cfg"
    bad_cfg.write_text(model_files.yolov3_tiny_cfg(classes=3, width=320, height=320, base=2))
    result = run_scenario("models", "convert_and_refusal", root / "home", zip_path=str(linux_zip), cfg=str(cfg),
                          weights=str(root / "ants.weights"), names=str(root / "labels.txt"),
                          elsewhere=str(root / "out" / "chosen.onnx"), bad_cfg=str(bad_cfg),
                          bad_weights=str(root / "ants.weights"))
    return result, root


def test_the_operator_is_registered_and_offered_only_for_a_darknet_model(converted):
    result, _ = converted
    assert result["registered"]
    assert result["poll_without_darknet_model"] is False
    assert result["poll_with_darknet_model"] is True
    assert result["poll_after"] is False  # the model setting is the .onnx now


def test_the_onnx_file_is_written_beside_the_cfg_at_the_network_size_and_used(converted):
    result, root = converted
    beside = result["beside"]
    assert beside["status"] == ["FINISHED"], beside
    onnx = root / "ants.onnx"
    assert beside["model_path"] == str(onnx)
    assert onnx_proto.read_input_shape(onnx) == ("batch", 3, 160, 160)  # the panel's size, not the cfg's 320
    metadata = onnx_proto.read_metadata(onnx)
    assert metadata["source"] == "darknet" and json.loads(metadata["names"]) == ["worker", "queen"]
    info = [line for line in beside["printed"].splitlines() if "Wrote" in line]
    assert len(info) == 1 and str(onnx) in info[0] and "160x160" in info[0], beside["printed"]


def test_a_chosen_path_is_written_and_used(converted):
    result, root = converted
    elsewhere = result["elsewhere"]
    assert elsewhere["status"] == ["FINISHED"], elsewhere
    assert elsewhere["model_path"] == str(root / "out" / "chosen.onnx")
    assert onnx_proto.read_input_shape(root / "out" / "chosen.onnx") == ("batch", 3, 160, 160)


def test_weights_that_do_not_fit_are_one_error_line_and_change_nothing(converted):
    result, root = converted
    refused = result["refused"]
    assert refused["status"] is None, refused
    text = refused["error"].strip()
    text = text[len("Error: "):] if text.startswith("Error: ") else text
    assert "\n" not in text and "Traceback" not in text and "does not fit 'other.cfg'" in text, text
    assert refused["model_path"] == str(root / "other.cfg")
    assert not (root / "other.onnx").exists()
