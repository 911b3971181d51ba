"""The background detector's defaults inside Blender on a clip like real footage: light animals that rest,
a known number of animals, an empty-arena image given relative to the .blend (tests/test_blender_real_footage.py)."""
import bpy

from blender_scenarios.bpy_helpers import dump, install, open_clip
from blender_scenarios.detect_preview import stdout_of_blender
from blender_scenarios.tracking import track


def resting_animals(zip_path, video, clip_start, blend):
    install(zip_path)
    clip, scene, props = open_clip(video, clip_start)
    props.polarity = "AUTO"
    props.min_length = 10
    result = {"unknown": track(clip, restart=True), "markers_unknown": dump(clip)}
    props.animals = 4
    printed = []
    with stdout_of_blender(printed):
        result["known"] = track(clip, restart=True)
    result["printed_known"] = printed[0]
    result["markers_known"] = dump(clip)
    props.animals = 8  # more than the clip shows: tracking ends with a warning that says so
    printed = []
    with stdout_of_blender(printed):
        result["too_many"] = track(clip, restart=True)
    result["printed_too_many"] = printed[0]
    props.animals = 4
    bpy.ops.wm.save_as_mainfile(filepath=blend)  # the test put arena.png and small.png beside it
    props.background_image = "//arena.png"
    result["image"] = track(clip, restart=True)
    result["markers_image"] = dump(clip)
    props.background_image = "//small.png"
    result["wrong_image"] = track(clip, restart=True)
    result["unchanged"] = dump(clip) == result["markers_image"]
    return result
