"""Identify Animals inside Blender: the clip's tracks as they are now (the user's fixes included) in, the
same markers regrouped by animal out, and the uncertain fragments listed on the clip to step through.

Nothing is written until the pass has finished, so Esc leaves every track as it was; a failure while
writing puts the snapshot back; Ctrl-Z undoes a finished run (the operator is registered with UNDO).
Locked tracks count as checked: they keep their markers and name, and teach the pass what their animal
looks like. Each animal takes the name (and colour, visibility...) of the track most of it comes from.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..errors import OmniTraxError
from . import markers
from .coords import ClipFrames, clip_size

#: clip ID property: the uncertain fragments of the last run, in time order, and the one last shown
UNCERTAIN_KEY = "omnitrax_uncertain"


class BlenderIdentityJob:
    """The identity pass over `clip`'s tracks with the scene's Number of animals and Certainty."""

    def __init__(self, context, clip):
        from ..identity.pipeline import IdentityRun

        props = context.scene.omnitrax
        self.context, self.clip = context, clip
        self.n = int(props.animals)
        if self.n < 1:
            raise OmniTraxError("Identify Animals needs the Number of animals (Detection panel): set how many "
                                "animals the clip shows.")
        width, height = clip_size(clip)
        if width == 0 or height == 0 or clip.frame_duration == 0:
            raise OmniTraxError(f"Blender cannot read the clip '{clip.filepath}': check that the file exists.")
        self.frames = ClipFrames.of(clip)
        tracks, id_to_name = markers.read_tracks(clip, self.frames)
        inside = (tracks.frame >= 0) & (tracks.frame < clip.frame_duration + clip.frame_offset)
        tracks = tracks.select(inside)
        if not len(tracks):
            raise OmniTraxError("The clip has no tracks to identify: track it first (Track From Start).")
        self.id_to_name = {int(t): id_to_name[int(t)] for t in tracks.ids()}
        name_to_id = {v: k for k, v in self.id_to_name.items()}
        locked = sorted(t.name for t in clip.tracking.tracks if t.lock and t.name in name_to_id)
        if len(locked) > self.n:
            raise OmniTraxError(f"{len(locked)} tracks are locked (checked) but the clip shows {self.n} animals: "
                                f"unlock the tracks you have not checked, or raise Number of animals.")
        self.locked = locked
        self.run = IdentityRun(tracks, bpy.path.abspath(clip.filepath, library=clip.library), self.n,
                               certainty=props.identity_certainty,
                               known={name_to_id[name]: k for k, name in enumerate(locked)})
        self._steps = self.run.steps()
        self.progress = None
        self._stop = False
        self.snapshot = None
        self._written = set()

    # --- the job interface of blender.modal.JobOperator ---------------------------------------------
    @property
    def description(self) -> str:
        known = f", {len(self.locked)} locked tracks known" if self.locked else ""
        return (f"identity pass: {self.n} animals, {len(self.run.fragments)} fragments of "
                f"{len(self.id_to_name)} tracks{known}")

    total = 100  # per cent

    @property
    def done(self) -> int:
        p = self.progress
        if p is None:
            return 0
        share = {"reading": (0, 90), "learning": (90, 98), "assigning": (98, 100)}[p.stage]
        return int(share[0] + (share[1] - share[0]) * p.done / max(p.total, 1))

    def step(self, budget_s: float = 0.1) -> bool:
        """Work for about budget_s seconds; False when the pass is done (or stopped)."""
        import time

        if self._stop:
            return False
        until = time.perf_counter() + budget_s
        while True:
            try:
                self.progress = next(self._steps)
            except StopIteration:
                return False
            if time.perf_counter() >= until:
                return True

    def refresh(self) -> None:
        pass  # nothing is shown before the pass has finished

    def status_text(self) -> str:
        p = self.progress
        return "OmniTrax: identities, starting…" if p is None else f"OmniTrax: {p.text()} · Esc to stop"

    def stop(self) -> None:
        self._stop = True

    def finish(self, stopped: bool) -> str:
        if stopped:
            return "OmniTrax identity pass stopped: the tracks are as they were"
        result = self.run.result()
        self.write(result)
        table = result.fragments
        uncertain = int(table.uncertain.sum())
        steps = " (Next Uncertain steps through them)" if uncertain else ""
        return (f"OmniTrax identified {self.n} animals in {len(table)} fragments: {uncertain} uncertain{steps}")

    def undo(self) -> None:
        if self.snapshot is None:
            return
        current = {t.name for t in self.clip.tracking.tracks}
        markers.delete_tracks(self.context, self.clip, (set(self.snapshot) | self._written) & current)
        markers.restore(self.clip, self.snapshot)

    def close(self) -> None:
        self._steps.close()  # a stopped pass lets its frame reader go
        self.run.close()

    # --- results ------------------------------------------------------------------------------
    def names(self, result) -> dict:
        """Output id -> Blender track name: locked tracks keep theirs; every other animal takes the name of
        the input track most of its frames come from (one each, by least total left over); animals without
        one, new `track_<n>` names; rows no animal could take stay on their own track's name if it is free."""
        from scipy.optimize import linear_sum_assignment

        sources = result.sources()
        input_ids = sorted(self.id_to_name)
        names = {k: name for k, name in enumerate(self.locked)}
        free_ids = [i for i in range(self.n) if i not in names]
        taken_names = set(names.values())
        candidates = [t for t in input_ids if self.id_to_name[t] not in taken_names]
        if free_ids and candidates:
            overlap = np.array([[sources.get(i, {}).get(t, 0) for t in candidates] for i in free_ids], float)
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols):
                if overlap[r, c] > 0:
                    names[free_ids[r]] = self.id_to_name[candidates[c]]
        used = set(names.values())
        existing = {t.name for t in self.clip.tracking.tracks}
        for out_id, track in sorted(result.leftover.items()):
            own = self.id_to_name[track]
            if own not in used:
                names[out_id] = own
                used.add(own)
        candidate = 0
        for out_id in sorted(set(result.tracks.ids()) - set(names)):
            while markers.track_name(candidate) in used | existing:
                candidate += 1
            names[out_id] = markers.track_name(candidate)
            used.add(names[out_id])
        return names

    def write(self, result) -> None:
        """Replace the input tracks by the tracks per animal (names, colours and every track setting follow
        the name), and store the uncertain fragments on the clip."""
        clip = self.clip
        names = self.names(result)
        touched = set(self.id_to_name.values())
        owned_before = markers.owned_names(clip)
        existing_before = {t.name for t in clip.tracking.tracks}
        self.snapshot = markers.snapshot(clip, touched)
        meta = clip.get(markers.META_KEY)
        meta = {} if meta is None else meta.to_dict()
        kept_meta = {name: meta[name] for name in touched if name in meta}
        for name in touched:
            meta.pop(name, None)  # written afresh with the markers
        clip[markers.META_KEY] = meta
        try:
            markers.delete_tracks(self.context, clip, touched)
            written = markers.write_tracks(clip, result.tracks, self.frames, names=names)
            self._written = set(written.values())
            for name in self._written & set(self.snapshot):
                markers._apply_state(clip.tracking.tracks[name], self.snapshot[name]["state"])
            # ownership follows the name: the user's own tracks stay the user's
            clip[markers.OWNED_KEY] = sorted((owned_before & self._written) | (self._written - existing_before))
        except Exception:
            meta.update(kept_meta)
            clip[markers.META_KEY] = meta
            raise
        self._store_uncertain(result, names)
        for track in clip.tracking.tracks:  # the tracks with something to check are selected
            track.select = track.name in {f["track"] for f in clip[UNCERTAIN_KEY]["fragments"]}

    def _store_uncertain(self, result, names: dict) -> None:
        """clip[UNCERTAIN_KEY]: the uncertain fragments (output track name, first and last scene frame,
        confidence) in time order, and the index last shown (-1: none yet)."""
        t = result.fragments
        rows = np.flatnonzero(t.uncertain)
        first_scene = self.frames.scene_from_video(t.first[rows]).astype(int)
        last_scene = self.frames.scene_from_video(t.last[rows]).astype(int)
        items = []
        for k, r in enumerate(rows.tolist()):
            identity = int(t.identity[r])
            out_id = identity if identity >= 0 else next(o for o, tr in result.leftover.items()
                                                         if tr == int(t.track[r]))
            items.append({"track": names[out_id], "first": int(first_scene[k]), "last": int(last_scene[k]),
                          "confidence": float(t.confidence[r])})
        items.sort(key=lambda item: (item["first"], item["track"]))
        self.clip[UNCERTAIN_KEY] = {"fragments": items, "current": -1, "total": len(t)}


def step_uncertain(context, clip, direction: int) -> dict:
    """Show the next (direction 1) or previous (-1) uncertain fragment: the scene goes to its first frame
    and only its track is selected. Returns the fragment shown (with 'index' and 'count')."""
    stored = clip.get(UNCERTAIN_KEY)
    items = list(stored["fragments"]) if stored else []
    if not items:
        raise OmniTraxError("No uncertain fragments: run Identify Animals first (or nothing was uncertain).")
    index = (int(stored["current"]) + (1 if direction >= 0 else -1)) % len(items)
    stored["current"] = index
    item = dict(items[index])
    context.scene.frame_current = int(item["first"])
    for track in clip.tracking.tracks:
        track.select = track.name == item["track"]
    return {**item, "index": index, "count": len(items)}
