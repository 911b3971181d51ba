"""The Blender side: everything here may import bpy."""
