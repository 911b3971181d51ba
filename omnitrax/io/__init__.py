"""File formats and evaluation (bpy-free)."""
