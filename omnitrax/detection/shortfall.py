"""Whether a run's detector kept fewer animals than the user said there are, and what to try then.

With `animals` = N known, a detector that finds fewer than N in many frames (animals of the other shade
than the background detector chose, a threshold or confidence too strict for the fainter animals, touching
animals merged into one blob) leaves the tracker coasting and the identity pass guessing, silently. The
CLI (omnitrax track) and Blender's Track operator report this at the end of tracking, with the settings
that would find more, named as each front end names them (flags or panel labels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHORT_SHARE = 0.25  # reported when the detector kept fewer than N animals in at least this share of frames


@dataclass
class Shortfall:
    animals: int  # N, as the user gave it
    frames: int  # frames counted
    short: int  # frames with fewer than N detections
    median: float  # median detections per frame

    @property
    def share(self) -> float:
        return self.short / max(self.frames, 1)

    def text(self) -> str:
        return (f"the detector found fewer than {self.animals} animals in {self.share:.0%} of frames "
                f"(median {self.median:g})")


def shortfall(counts, animals: int) -> Shortfall | None:
    """The shortfall of per-frame detection counts against N animals; None when N is unknown (0), there
    are no frames, or fewer than SHORT_SHARE of the frames are short."""
    counts = np.asarray(counts, np.int64)
    if not animals or not len(counts):
        return None
    found = Shortfall(animals=int(animals), frames=len(counts), short=int((counts < animals).sum()),
                      median=float(np.median(counts)))
    return found if found.share >= SHORT_SHARE else None


def shortfall_message(counts, settings, detector=None, style: str = "cli") -> str | None:
    """One line for the run's report when the detector kept fewer than settings.animals in many frames,
    with what to try (see advice); None when it did not. style: "cli" names flags (--polarity either),
    "blender" the panel's labels (Animals are: Either)."""
    found = shortfall(counts, settings.animals)
    if found is None:
        return None
    tips = advice(found, settings, detector, style)
    return f"{found.text()}" + (f": try {', '.join(tips)}" if tips else "")


def advice(found: Shortfall, settings, detector, style: str = "cli") -> list:
    """The settings to try, as text, likeliest first."""
    def name(setting: str, value=None) -> str:
        from ..settings import BY_NAME

        s = BY_NAME[setting]
        if style == "blender":
            if value is None:
                return s.label
            labels = {c[0]: c[1] for c in s.choices}
            return f"{s.label}: {labels.get(value, value)}"
        return s.cli_flag if value is None else f"{s.cli_flag} {value}"

    tips = []
    if detector is None:  # detections read from a file
        return tips
    if settings.detector == "background":
        chosen = getattr(detector, "chosen", None) or getattr(detector, "polarity", None)
        if chosen in ("lighter", "darker"):
            tips.append(f"{name('polarity', 'either')} (animals both lighter and darker than the floor)")
        used = getattr(detector, "threshold_used", None)
        tips.append(f"a lower {name('threshold')}" + (f" (now {used})" if used else ""))
        learned = getattr(detector, "learned_area", None)
        if getattr(detector, "animal_area", None) is None and learned:
            tips.append(f"{name('animal_area')} {learned:.0f} (splits touching animals)")
    else:
        tips.append(f"a lower {name('confidence')} (now {settings.confidence:g})")
        if not settings.low_confidence:
            tips.append(f"{name('low_confidence')} {settings.confidence / 2:g} (weaker detections continue tracks)")
        tips.append(f"a larger {name('network_size')} (now {settings.network_size})")
    tips.append(f"or check {name('animals')} ({found.animals})" if style == "blender" else
                f"or check {name('animals')} {found.animals}")
    return tips
