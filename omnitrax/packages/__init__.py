"""Pinned pip installs of optional packages (pose estimation) into the extension's own folder (bpy-free)."""
