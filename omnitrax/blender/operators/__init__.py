"""Blender operators by area: tracking, pose, training-data export, settings files, models (Darknet -> ONNX)."""
