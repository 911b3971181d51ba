"""The Blender layer: every module under here may import bpy; nothing outside it does (but omnitrax/__init__.py
and omnitrax/ui_panels.py). It turns properties into core settings, calls the core, and turns results into
tracks, markers, overlays and reports."""
