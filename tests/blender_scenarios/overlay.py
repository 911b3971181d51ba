"""The Clip Editor overlay of the installed add-on on real markers (tests/test_overlay.py).

`tracks`: {name: [{video frame: [x px, y px, box w px, box h px, muted]}, hidden]} (JSON: frame keys are
strings)."""
import bpy

from blender_scenarios.bpy_helpers import addon_module, clip_editor, install


def _setup(zip_path, video, clip_start, tracks):
    mod = install(zip_path)
    overlay = addon_module(mod, "blender.overlay")  # the installed copy
    clip = bpy.data.movieclips.load(video)
    clip.frame_start = clip_start
    W, H = clip.size
    for name, (frames, hidden) in tracks.items():
        track = None
        for video_frame, (x, y, bw, bh, muted) in frames.items():
            marker_frame = int(video_frame) + 1  # frame_offset 0: clip frame 1 is video frame 0
            co = ((x + 0.5) / W, 1 - (y + 0.5) / H)
            if track is None:
                track = clip.tracking.tracks.new(name=name, frame=marker_frame)
                track.markers.find_frame(marker_frame, exact=True).co = co
            else:
                track.markers.insert_frame(marker_frame, co=co)
            m = track.markers.find_frame(marker_frame, exact=True)
            hw, hh = bw / 2 / W, bh / 2 / H
            m.pattern_corners = ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))
            m.mute = muted
        track.hide = hidden
        track.select = name == "ant_a"
        track.color = {"ant_a": (1, 0, 0), "ant_b": (0, 0, 1)}.get(name, (0, 1, 0))
        track.use_custom_color = True
    return mod, overlay, clip


def geometry_at_frame(zip_path, video, clip_start, tracks, video_frame, region, zoom, pan):
    """The overlay's lines and labels at the scene frame showing video_frame, and one frame later."""
    mod, overlay, clip = _setup(zip_path, video, clip_start, tracks)
    W, H = clip.size
    scene_frame = video_frame + clip_start
    frames = addon_module(mod, "blender.coords").ClipFrames.of(clip)
    transform = overlay.ViewTransform.centred(tuple(region), (W, H), zoom=zoom, pan=tuple(pan))
    markers = overlay.tracks_at_frame(clip, scene_frame)
    geometry = overlay.overlay_lines(markers, transform)
    next_frame = overlay.overlay_lines(overlay.tracks_at_frame(clip, scene_frame + 1), transform)
    return {"frame_start": frames.frame_start, "size": [W, H],
            "markers": [[m.name, m.muted, m.selected] for m in markers],
            "lines": geometry.lines.tolist(), "colors": geometry.line_colors.tolist(),
            "labels": geometry.labels, "next_labels": next_frame.labels,
            "transform": [transform.scale_x, transform.scale_y, transform.offset_x, transform.offset_y]}


def register_layers_in_background(zip_path, video, clip_start, tracks, video_frame):
    """Register the draw handler twice, add a skeleton layer and a broken one, collect shapes, unregister."""
    mod, overlay, clip = _setup(zip_path, video, clip_start, tracks)
    scene = bpy.context.scene
    r = {"background": bpy.app.background}
    ClipEditor = bpy.types.SpaceClipEditor

    def alive(handle):
        """A handle is registered iff removing it works; re-add is not needed after this probe."""
        try:
            ClipEditor.draw_handler_remove(handle, "WINDOW")
            return True
        except ValueError:
            return False

    overlay.register()
    h1 = overlay.handler_handle()
    overlay.register()  # a second register (add-on reload) replaces, never duplicates
    h2 = overlay.handler_handle()
    r["distinct"] = h1 is not h2
    r["first_alive_after_second_register"] = alive(h1)
    r["second_alive"] = alive(h2)  # probing removes it: register again
    overlay.register()
    h3 = overlay.handler_handle()
    r["layers"] = overlay.layer_names()

    # a second layer (as the pose feature will add) and one that fails
    def skeleton(context, clip, scene_frame):
        return overlay.Shapes(segments=[[[0.25, 0.25], [0.75, 0.75]]], segment_colors=[[1, 1, 1, 1]],
                              points=[[0.5, 0.5]], point_colors=[[1, 0, 0, 1]])

    def broken(context, clip, scene_frame):
        raise RuntimeError("boom")

    overlay.register_layer("skeleton", skeleton, order=10)
    overlay.register_layer("broken", broken, order=5)
    r["layers_with_pose"] = overlay.layer_names()
    scene.omnitrax.show_overlay = True
    with clip_editor(clip):
        shapes = overlay.collect(bpy.context, clip, video_frame + clip_start)
        overlay.collect(bpy.context, clip, video_frame + clip_start)  # broken layer: skipped again
        r["collected_segments"] = len(shapes.segments)
        r["collected_points"] = shapes.points.tolist()
        r["collected_labels"] = [label.text for label in shapes.labels]
        r["draw_in_background"] = overlay.draw_callback()
        region = bpy.context.region
        r["transform_of_undrawn_region"] = overlay.ViewTransform.from_region(region)
        r["frame_geometry"] = overlay.frame_geometry(bpy.context) is None
    r["reported"] = sorted(overlay._state().reported)
    r["draws"] = overlay._state().draws
    overlay.unregister_layer("skeleton")
    overlay.unregister_layer("broken")

    overlay.unregister()
    r["handle_after_unregister"] = overlay.handler_handle()
    r["third_alive_after_unregister"] = alive(h3)
    r["layers_after_unregister"] = overlay.layer_names()
    overlay.unregister()  # harmless twice
    return r
