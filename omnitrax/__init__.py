"""OmniTrax: multi-animal tracking and pose estimation in Blender's Movie Clip Editor.

This file only registers the Blender layer (omnitrax.blender). It imports nothing at module load, so the
bpy-free core (omnitrax.detection, .tracking, .identity, .pose, .io, .cli) can be imported without Blender,
and enabling the add-on never loads OpenCV, TensorFlow or torch.
"""


def register():
    from .blender import registration

    registration.register()


def unregister():
    from .blender import registration

    registration.unregister()
