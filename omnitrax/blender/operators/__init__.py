"""Blender operators by area: tracking, pose, training-data export, settings files, models (Darknet -> ONNX),
identities (Identify Animals, stepping through its uncertain fragments)."""
