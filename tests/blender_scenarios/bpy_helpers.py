"""bpy-side helpers shared by the scenario modules (imported only inside the bpy process)."""
import sys
from importlib import import_module

import bpy


def install(zip_path):
    """Install and enable the extension zip into the private home; return the add-on's package."""
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}, result
    return sys.modules["bl_ext.user_default.omnitrax"]


def addon_module(addon, name):
    """The installed copy of one of the add-on's modules, e.g. addon_module(mod, "blender.overlay")."""
    return import_module(addon.__name__ + "." + name)


def open_clip(video, clip_start: int, min_length: int = 5):
    """Load the video as a clip shown from scene frame clip_start, the scene range set to the clip, and
    the background detector (darker animals) chosen; returns (clip, scene, props)."""
    clip = bpy.data.movieclips.load(video)
    clip.frame_start = clip_start
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = clip_start, clip_start + clip.frame_duration - 1
    scene.frame_current = clip_start
    props = scene.omnitrax
    props.detector = "BACKGROUND"
    props.polarity = "DARKER"
    props.min_length = min_length
    props.use_scene_range = True
    return clip, scene, props


def clip_editor(clip):
    """A context override that makes the first area of the window a Clip Editor showing clip."""
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    area.type = "CLIP_EDITOR"
    space = area.spaces.active
    space.clip = clip
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, screen=window.screen, area=area, region=region,
                                     space_data=space)


def four_point_hole(clip, name):
    """A new mask with one subtracting layer holding a closed spline of four points; returns
    (mask, points, to_mask) where to_mask(px, py) maps pixels (top-left) to mask space (square,
    bottom-left; y squeezed around 0.5 on wide frames)."""
    w, h = clip.size
    mask = bpy.data.masks.new(name=name)
    layer = mask.layers.new(name="hole")
    layer.blend = "MERGE_SUBTRACT"
    spline = layer.splines.new()
    spline.use_cyclic = True
    spline.points.add(4 - len(spline.points))

    def to_mask(px, py):
        u, v = px / w, 1 - py / h
        return (u, (v - 0.5) * h / w + 0.5)

    return mask, spline.points, to_mask


def dump(clip):
    """{track name: [[scene frame, x px, y px, muted], ...]} of every marker of the clip's camera tracks."""
    w, h = clip.size
    return {t.name: [[m.frame + clip.frame_start - 1, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5, m.mute]
                     for m in t.markers] for t in clip.tracking.tracks}


def render_shown(clip, scene, scene_frames, out_dir):
    """What Blender shows of clip (the compositor's Movie Clip node) at scene_frames -> out_dir/shown_<f>.png."""
    import os

    scene.render.resolution_x, scene.render.resolution_y = clip.size
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    tree = bpy.data.node_groups.new("show clip", "CompositorNodeTree")
    scene.compositing_node_group = tree
    node = tree.nodes.new("CompositorNodeMovieClip")
    node.clip = clip
    tree.interface.new_socket(name="Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    tree.links.new(node.outputs["Image"], tree.nodes.new("NodeGroupOutput").inputs[0])
    scene.render.use_compositing = True
    scene.render.image_settings.file_format = "PNG"
    for f in scene_frames:
        scene.frame_set(f)
        scene.render.filepath = os.path.join(out_dir, f"shown_{f}.png")
        bpy.ops.render.render(write_still=True)
