"""Convert to ONNX with the installed add-on (tests/test_blender_convert_darknet.py): the scene's Darknet
model converted beside its .cfg and to a chosen path, then a model whose weights do not fit, all in one
Blender process."""
import bpy

from blender_scenarios.bpy_helpers import install
from blender_scenarios.detect_preview import stdout_of_blender


def _run(**options):
    """(sorted result or None, INFO text Blender printed, ERROR report text or '')."""
    printed = []
    try:
        with stdout_of_blender(printed):
            status = sorted(bpy.ops.omnitrax.convert_darknet(**options))
        return status, printed[0], ""
    except RuntimeError as exc:  # background mode: the ERROR report comes back as RuntimeError
        return None, printed[0] if printed else "", str(exc)


def convert_and_refusal(zip_path, cfg, weights, names, elsewhere, bad_cfg, bad_weights):
    install(zip_path)
    props = bpy.context.scene.omnitrax
    result = {"registered": hasattr(bpy.types, "OMNITRAX_OT_convert_darknet")}
    props.detector = "YOLO"
    props.model_path = ""
    result["poll_without_darknet_model"] = bpy.ops.omnitrax.convert_darknet.poll()
    props.model_path, props.weights_path, props.names_path = cfg, weights, names
    props.network_size = 160
    result["poll_with_darknet_model"] = bpy.ops.omnitrax.convert_darknet.poll()

    status, printed, error = _run()
    result["beside"] = {"status": status, "printed": printed, "error": error, "model_path": props.model_path}
    result["poll_after"] = bpy.ops.omnitrax.convert_darknet.poll()  # the model is the .onnx now

    props.model_path = cfg
    status, printed, error = _run(filepath=elsewhere)
    result["elsewhere"] = {"status": status, "printed": printed, "error": error, "model_path": props.model_path}

    props.model_path, props.weights_path = bad_cfg, bad_weights
    status, printed, error = _run()
    result["refused"] = {"status": status, "error": error, "model_path": props.model_path}
    return result
