"""Detection and tracking: the bpy-free core. Heavy packages are imported lazily inside functions."""
