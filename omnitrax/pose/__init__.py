"""Pose estimation with DeepLabCut-Live on tracked animals (bpy-free)."""
