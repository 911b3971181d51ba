"""Clip Editor overlay: each track's box and name at the current frame, drawn with Blender's `gpu`.

Where the drawing happens (Blender source, space_clip.cc / area.cc / clip_draw.cc, 4.2 - 5.0):
- `movieclip_main_area_set_view2d` sets the main region's `view2d.cur` in *frame-normalised* units:
  0..1 across the frame's width and height (pixel aspect included), origin bottom-left. That is the
  marker `co` space, so `region.view2d` maps marker coordinates to region pixels exactly as Blender
  draws its own markers (translate to the frame origin, scale by zoom * frame size).
- A POST_VIEW handler of SpaceClipEditor gets no view projection (the `wmOrtho2(cur)` call is
  commented out in clip_main_region_draw), so it is unusable for frame coordinates. A POST_PIXEL
  handler runs after `ED_region_pixelspace`: region pixels, origin bottom-left of the region. This
  module draws in POST_PIXEL and maps with `ViewTransform.from_region` (derived from view2d, which is
  rebuilt on every redraw, so zoom and pan are current).
- Not covered: the stabilised view (`show_stable` with 2D stabilisation: Blender multiplies by a
  stabilisation matrix Python cannot read; the overlay then draws nothing) and undistorted display.

Layers: anything may add shapes through `register_layer(name, callback)`; callback(context, clip,
scene_frame) returns `Shapes` in normalised clip coordinates (marker `co` space). The tracks layer is
the first user; a pose layer can add skeleton segments and points the same way. Per redraw, all
layers' segments go into one line batch and all points into one point batch.
"""
from __future__ import annotations

import sys
import traceback
import types
from dataclasses import dataclass, field

import numpy as np

from .coords import ClipFrames

TRACKS_LAYER = "tracks"
LABEL_OFFSET_PX = (4.0, 3.0)  # label baseline, from the box's top-right corner
SELECT_OUTSET_PX = 2.0  # selected tracks get a second box this far outside the first
DASH_PX, GAP_PX = 5.0, 4.0  # dashes of muted (predicted / gap) markers
MAX_DASHES = 256  # per segment; longer segments get longer dashes
ALPHA, MUTED_ALPHA = 0.85, 0.45
LINE_WIDTH_PX, POINT_SIZE_PX, LABEL_SIZE_PX = 1.5, 5.0, 11.0
_STATE_MODULE = "_omnitrax_overlay_state"  # survives add-on reloads and file loads


# --- coordinates --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ViewTransform:
    """Normalised clip coordinates (marker `co`: 0..1 over the frame, origin bottom-left) -> region
    pixels of the Clip Editor's main region (origin bottom-left): region = co * scale + offset."""

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float

    def apply(self, co) -> np.ndarray:
        co = np.asarray(co, dtype=np.float64).reshape(-1, 2)
        return co * [self.scale_x, self.scale_y] + [self.offset_x, self.offset_y]

    @classmethod
    def from_region(cls, region) -> "ViewTransform | None":
        """The transform Blender used for the last redraw of this Clip Editor main region; None when
        the region has not been drawn yet (view2d still NaN) or is empty."""
        width, height = float(region.width), float(region.height)
        if width <= 0 or height <= 0:
            return None
        x0, y0 = region.view2d.region_to_view(0.0, 0.0)
        x1, y1 = region.view2d.region_to_view(width, height)
        span_x, span_y = x1 - x0, y1 - y0
        if not np.all(np.isfinite([x0, y0, x1, y1])) or span_x <= 0 or span_y <= 0:
            return None
        scale_x, scale_y = width / span_x, height / span_y
        return cls(scale_x, scale_y, -x0 * scale_x, -y0 * scale_y)

    @classmethod
    def centred(cls, region_size, frame_size, zoom: float = 1.0, pan=(0.0, 0.0), aspect=(1.0, 1.0)):
        """The transform the Clip Editor sets up for this zoom and pan (mirrors
        movieclip_main_area_set_view2d): frame_size in pixels, pan in frame pixels (SpaceClip xof/yof),
        aspect the clip's display aspect."""
        w, h = frame_size[0] * aspect[0], frame_size[1] * aspect[1]
        origin_x = (region_size[0] - zoom * w) / 2.0 - zoom * pan[0]
        origin_y = (region_size[1] - zoom * h) / 2.0 - zoom * pan[1]
        return cls(zoom * w, zoom * h, origin_x, origin_y)


# --- what layers return, and what is drawn ------------------------------------------------------

@dataclass
class Label:
    text: str
    co: tuple  # anchor, normalised clip coordinates
    color: tuple  # RGBA 0..1
    offset_px: tuple = (0.0, 0.0)  # added after the transform, region pixels


@dataclass
class Shapes:
    """One layer's drawing in normalised clip coordinates (origin bottom-left).

    segments (N, 2, 2): line segments; segment_colors (N, 4) RGBA; dashed (N,) bool;
    offsets_px (N, 2, 2): per end point, added after the transform (region pixels; e.g. outlines a
    fixed number of pixels outside a box); points (K, 2) with point_colors (K, 4); labels.
    """

    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2)))
    segment_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    dashed: np.ndarray | None = None
    offsets_px: np.ndarray | None = None
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    point_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    labels: list = field(default_factory=list)

    def normalised(self) -> "Shapes":
        """A copy with every optional array filled and every array of the documented shape."""
        seg = np.asarray(self.segments, np.float64).reshape(-1, 2, 2)
        n = len(seg)
        pts = np.asarray(self.points, np.float64).reshape(-1, 2)
        return Shapes(
            segments=seg,
            segment_colors=_rgba(self.segment_colors, n),
            dashed=np.zeros(n, bool) if self.dashed is None else np.asarray(self.dashed, bool).reshape(n),
            offsets_px=(np.zeros((n, 2, 2)) if self.offsets_px is None
                        else np.asarray(self.offsets_px, np.float64).reshape(n, 2, 2)),
            points=pts, point_colors=_rgba(self.point_colors, len(pts)), labels=list(self.labels))

    @staticmethod
    def concat(parts) -> "Shapes":
        parts = [p.normalised() for p in parts if p is not None]
        if not parts:
            return Shapes().normalised()
        return Shapes(
            segments=np.concatenate([p.segments for p in parts]),
            segment_colors=np.concatenate([p.segment_colors for p in parts]),
            dashed=np.concatenate([p.dashed for p in parts]),
            offsets_px=np.concatenate([p.offsets_px for p in parts]),
            points=np.concatenate([p.points for p in parts]),
            point_colors=np.concatenate([p.point_colors for p in parts]),
            labels=[label for p in parts for label in p.labels])


def _rgba(colors, n: int) -> np.ndarray:
    c = np.asarray(colors, np.float64).reshape(n, -1) if n else np.zeros((0, 4))
    if c.shape[1] == 3:
        c = np.column_stack([c, np.ones(n)])
    return c


@dataclass
class RegionGeometry:
    """Everything one redraw draws, in region pixels (origin bottom-left).

    lines (2M, 2) float32: consecutive pairs are one segment (a GPU 'LINES' batch); line_colors
    (2M, 4); points (K, 2) with point_colors (K, 4); labels: (text, x, y, rgba) with (x, y) the
    text baseline start.
    """

    lines: np.ndarray
    line_colors: np.ndarray
    points: np.ndarray
    point_colors: np.ndarray
    labels: list


def _dash(ends: np.ndarray, colors: np.ndarray):
    """Split (N, 2, 2) pixel segments into dashes: (M, 2, 2) and their colours."""
    if len(ends) == 0:
        return ends, colors
    d = ends[:, 1] - ends[:, 0]
    length = np.hypot(d[:, 0], d[:, 1])
    period = np.maximum(DASH_PX + GAP_PX, length / MAX_DASHES)
    dash = period * DASH_PX / (DASH_PX + GAP_PX)
    count = np.maximum(1, np.ceil(length / period).astype(int))
    seg = np.repeat(np.arange(len(ends)), count)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    start = k * period[seg]
    stop = np.minimum(start + dash[seg], length[seg])
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(length[seg, None] > 0, d[seg] / length[seg, None], 0.0)
    a = ends[seg, 0] + unit * start[:, None]
    b = ends[seg, 0] + unit * stop[:, None]
    return np.stack([a, b], axis=1), colors[seg]


def to_region(shapes: Shapes, transform: ViewTransform) -> RegionGeometry:
    """Map one `Shapes` (normalised clip coordinates) to region pixels; dashed segments are cut into
    dashes of DASH_PX with GAP_PX gaps (in pixels, so dashes look the same at every zoom)."""
    s = shapes.normalised()
    ends = transform.apply(s.segments.reshape(-1, 2)).reshape(-1, 2, 2) + s.offsets_px
    solid, solid_colors = ends[~s.dashed], s.segment_colors[~s.dashed]
    dashes, dash_colors = _dash(ends[s.dashed], s.segment_colors[s.dashed])
    lines = np.concatenate([solid, dashes]).reshape(-1, 2).astype(np.float32)
    line_colors = np.repeat(np.concatenate([solid_colors, dash_colors]), 2, axis=0).astype(np.float32)
    labels = []
    if s.labels:
        anchors = transform.apply([label.co for label in s.labels])
        anchors += np.array([label.offset_px for label in s.labels], np.float64).reshape(-1, 2)
        labels = [(label.text, x, y, tuple(float(c) for c in label.color))
                  for label, (x, y) in zip(s.labels, anchors.tolist())]
    return RegionGeometry(lines, line_colors, transform.apply(s.points).astype(np.float32),
                          s.point_colors.astype(np.float32), labels)


# --- the tracks layer ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TrackMarker:
    """One track's marker at one frame: co and corners normalised (corners relative to co, in
    Blender's pattern_corners order), colour RGB 0..1."""

    name: str
    co: tuple
    corners: tuple  # 4 x (x, y)
    color: tuple
    muted: bool = False
    selected: bool = False


def tracks_at_frame(clip, scene_frame: int, default_color=(0.5, 0.5, 0.0)) -> list[TrackMarker]:
    """The markers of the clip's (camera) tracks exactly at this scene frame; hidden tracks and
    tracks with no marker at the frame are left out. Tracks without a custom colour get
    default_color (the theme's marker colour in the draw handler)."""
    marker_frame = int(ClipFrames.of(clip).marker_from_scene(int(scene_frame)))
    found = []
    for track in clip.tracking.tracks:
        if track.hide:
            continue
        marker = track.markers.find_frame(marker_frame, exact=True)
        if marker is None:
            continue
        corners = np.asarray(marker.pattern_corners, np.float64).reshape(4, 2)
        found.append(TrackMarker(
            name=track.name, co=tuple(marker.co), corners=tuple(map(tuple, corners)),
            color=tuple(track.color) if track.use_custom_color else tuple(default_color),
            muted=bool(marker.mute), selected=bool(track.select)))
    return found


def track_shapes(markers) -> Shapes:
    """Boxes (pattern corners) and names of these markers. Muted markers: dashed and dimmer.
    Selected: brighter, full opacity, with a second box SELECT_OUTSET_PX outside the first."""
    markers = list(markers)
    n = len(markers)
    if n == 0:
        return Shapes().normalised()
    co = np.array([m.co for m in markers], np.float64).reshape(n, 1, 2)
    corners = np.array([m.corners for m in markers], np.float64).reshape(n, 4, 2)
    rgb = np.array([tuple(m.color)[:3] for m in markers], np.float64).reshape(n, 3)
    muted = np.array([m.muted for m in markers], bool)
    selected = np.array([m.selected for m in markers], bool)
    rgb[selected] += (1.0 - rgb[selected]) * 0.35
    alpha = np.where(selected, 1.0, np.where(muted, MUTED_ALPHA, ALPHA))
    color = np.column_stack([rgb, alpha])

    box = co + corners  # (n, 4, 2)
    segments = np.stack([box, np.roll(box, -1, axis=1)], axis=2)  # (n, 4, 2, 2): corner i -> i+1
    # outset directions follow each corner's side of the marker centre (any corner order works)
    side = np.sign(corners)
    side[side == 0] = 1.0
    outset = np.stack([side, np.roll(side, -1, axis=1)], axis=2)[selected] * SELECT_OUTSET_PX
    sel = np.flatnonzero(selected)
    all_segments = np.concatenate([segments.reshape(-1, 2, 2), segments[sel].reshape(-1, 2, 2)])
    offsets = np.concatenate([np.zeros((4 * n, 2, 2)), outset.reshape(-1, 2, 2)])
    owner = np.concatenate([np.repeat(np.arange(n), 4), np.repeat(sel, 4)])
    top_right = box.max(axis=1)
    labels = [Label(m.name, (float(top_right[i, 0]), float(top_right[i, 1])), tuple(color[i]), LABEL_OFFSET_PX)
              for i, m in enumerate(markers)]
    return Shapes(segments=all_segments, segment_colors=color[owner], dashed=muted[owner],
                  offsets_px=offsets, labels=labels)


def overlay_lines(markers, transform: ViewTransform) -> RegionGeometry:
    """The tracks layer in region pixels: boxes as line pairs, per-vertex colours, and labels."""
    return to_region(track_shapes(markers), transform)


def _tracks_layer(context, clip, scene_frame):
    if not context.scene.omnitrax.show_overlay:
        return None
    default = (0.5, 0.5, 0.0)
    try:
        default = tuple(context.preferences.themes[0].clip_editor.marker)
    except (AttributeError, IndexError):
        pass
    return track_shapes(tracks_at_frame(clip, scene_frame, default))


# --- layer registry and state that survives reloads ---------------------------------------------

def _state() -> types.SimpleNamespace:
    """Handler handle, layers and reported errors, kept in a tiny module in sys.modules so that an
    add-on reload (a fresh copy of this module) still finds and removes the old handler."""
    holder = sys.modules.get(_STATE_MODULE)
    if holder is None:
        holder = types.ModuleType(_STATE_MODULE)
        holder.state = types.SimpleNamespace(handle=None, layers={}, reported=set(), draws=0)
        sys.modules[_STATE_MODULE] = holder
    return holder.state


def register_layer(name: str, callback, order: int = 0) -> None:
    """Add (or replace) a layer: callback(context, clip, scene_frame) -> Shapes | None, in normalised
    clip coordinates. Lower order draws first."""
    _state().layers[name] = (int(order), callback)


def unregister_layer(name: str) -> None:
    _state().layers.pop(name, None)


def layer_names() -> list[str]:
    return [name for name, _ in sorted(_state().layers.items(), key=lambda kv: (kv[1][0], kv[0]))]


def _report_once(key: str) -> None:
    state = _state()
    if key not in state.reported:
        state.reported.add(key)
        print(f"OmniTrax overlay: {key}\n{traceback.format_exc()}", file=sys.stderr)


def collect(context, clip, scene_frame: int) -> Shapes:
    """All layers' shapes for this frame; a failing layer is skipped (reported once)."""
    state = _state()
    parts = []
    for name in layer_names():
        try:
            parts.append(state.layers[name][1](context, clip, scene_frame))
        except Exception as exc:  # never into Blender's draw loop
            _report_once(f"layer {name!r} failed: {type(exc).__name__}: {exc}")
    return Shapes.concat(parts)


def frame_geometry(context) -> RegionGeometry | None:
    """What the handler would draw in this context (a Clip Editor main region), or None when the
    overlay is off or cannot be placed."""
    props = getattr(context.scene, "omnitrax", None)
    space, region = context.space_data, context.region
    if props is None or not (props.show_overlay or props.show_skeleton) or space is None \
            or space.type != "CLIP_EDITOR":
        return None
    clip = space.clip
    if clip is None or region is None or space.view != "CLIP":
        return None
    if space.show_stable and clip.tracking.stabilization.use_2d_stabilization:
        return None
    transform = ViewTransform.from_region(region)
    if transform is None:
        return None
    return to_region(collect(context, clip, context.scene.frame_current), transform)


# --- drawing ------------------------------------------------------------------------------------

def _shader(name: str, fallback: str):
    """(shader, its name): one of Blender's built-in shaders (created once by Blender, cached)."""
    import gpu

    try:
        return gpu.shader.from_builtin(name), name
    except (ValueError, TypeError):
        return gpu.shader.from_builtin(fallback), fallback


def _draw_geometry(geometry: RegionGeometry, region, line_width: float = LINE_WIDTH_PX,
                   point_size: float = POINT_SIZE_PX) -> None:
    import blf
    import gpu
    from gpu_extras.batch import batch_for_shader

    gpu.state.blend_set("ALPHA")
    if len(geometry.lines):
        shader, name = _shader("POLYLINE_SMOOTH_COLOR", "SMOOTH_COLOR")
        batch = batch_for_shader(shader, "LINES", {"pos": geometry.lines, "color": geometry.line_colors})
        shader.bind()
        if name.startswith("POLYLINE"):
            shader.uniform_float("viewportSize", (float(region.width), float(region.height)))
            shader.uniform_float("lineWidth", line_width)
        batch.draw(shader)
    if len(geometry.points):
        shader, name = _shader("POINT_FLAT_COLOR", "FLAT_COLOR")
        batch = batch_for_shader(shader, "POINTS", {"pos": geometry.points, "color": geometry.point_colors})
        shader.bind()
        if name.startswith("POINT"):
            shader.uniform_float("size", point_size)
        else:
            gpu.state.point_size_set(point_size)
        batch.draw(shader)
    gpu.state.blend_set("NONE")
    if geometry.labels:
        import bpy

        font = 0
        blf.size(font, LABEL_SIZE_PX * bpy.context.preferences.system.ui_scale)
        w, h = region.width, region.height
        for text, x, y, rgba in geometry.labels:
            if -200 < x < w and -20 < y < h:
                blf.position(font, x, y, 0)
                blf.color(font, *rgba)
                blf.draw(font, text)


def draw_callback() -> str:
    """The POST_PIXEL handler. Returns what it did ('background', 'off', 'drawn', 'error') so tests
    can tell; never raises."""
    import bpy

    if bpy.app.background:
        return "background"
    try:
        context = bpy.context
        geometry = frame_geometry(context)
        if geometry is None:
            return "off"
        props = context.scene.omnitrax
        _draw_geometry(geometry, context.region, props.skeleton_line_width, props.skeleton_point_size)
        _state().draws += 1
        return "drawn"
    except Exception as exc:  # never into Blender's draw loop
        _report_once(f"drawing failed: {type(exc).__name__}: {exc}")
        return "error"


# --- registration -------------------------------------------------------------------------------

def _remove_handler(state) -> None:
    import bpy

    if state.handle is not None:
        try:
            bpy.types.SpaceClipEditor.draw_handler_remove(state.handle, "WINDOW")
        except ValueError:  # already gone
            pass
        state.handle = None


def register():
    """Add the Clip Editor draw handler (replacing one left by an earlier copy of this module, so
    there is always exactly one) and the tracks layer."""
    import bpy

    state = _state()
    _remove_handler(state)
    state.handle = bpy.types.SpaceClipEditor.draw_handler_add(draw_callback, (), "WINDOW", "POST_PIXEL")
    state.reported.clear()
    register_layer(TRACKS_LAYER, _tracks_layer, order=0)


def unregister():
    state = _state()
    _remove_handler(state)
    unregister_layer(TRACKS_LAYER)


def handler_handle():
    """The registered handler's handle (None when unregistered)."""
    return _state().handle
