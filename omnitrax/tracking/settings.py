"""All tracking settings in one flat record, named as in Blender's OmniTrax panel and settings files."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import OmniTraxError


@dataclass
class TrackingSettings:
    # detection
    detector: str = "yolo"  # "yolo" | "background"
    model_path: str = ""  # .cfg or .onnx; empty = the bundled ant model
    weights_path: str = ""
    names_path: str = ""
    confidence: float = 0.5
    nms: float = 0.45
    network_size: int = 416
    min_box: int = 0
    max_box: int = 0  # 0 = no limit
    constant_box: int = 0  # 0 = detected boxes
    backend: str = "auto"  # "auto" | "cpu" | "cuda"
    # background detector
    polarity: str = "darker"  # "darker" | "lighter" | "either"
    threshold: int = 0  # 0 = automatic (Otsu)
    min_area: int = 20
    max_area: int = 0  # 0 = no limit
    animal_area: int = 0  # 0 = do not split merged blobs
    background_frames: int = 50
    # tracker
    max_distance: float = 50.0
    max_gap: int = 10
    min_length: int = 10
    cost: str = "distance"  # "distance" | "iou"
    process_noise: float = 1.0
    measurement_noise: float = 1.0
    stitch: bool = True

    CHOICES = {"detector": ("yolo", "background"), "polarity": ("darker", "lighter", "either"),
               "cost": ("distance", "iou"), "backend": ("auto", "cpu", "cuda")}

    def __post_init__(self):
        for name, allowed in self.CHOICES.items():
            value = str(getattr(self, name)).lower()
            if value not in allowed:
                raise OmniTraxError(f"Setting {name}={getattr(self, name)!r} is not one of {', '.join(allowed)}.")
            setattr(self, name, value)
        if self.network_size % 32 or self.network_size <= 0:
            raise OmniTraxError(f"Network size {self.network_size} is not a positive multiple of 32; "
                                f"use e.g. 320, 416 or 640.")
        for name in ("max_distance",):
            if getattr(self, name) <= 0:
                raise OmniTraxError(f"Setting {name} must be positive, got {getattr(self, name)}.")
        for name in ("max_gap", "min_box", "max_box", "constant_box", "min_area", "max_area", "animal_area",
                     "threshold"):
            if getattr(self, name) < 0:
                raise OmniTraxError(f"Setting {name} must not be negative, got {getattr(self, name)}.")
        if self.min_length < 1:
            raise OmniTraxError(f"Setting min_length must be at least 1, got {self.min_length}.")

    @classmethod
    def from_mapping(cls, values: dict) -> "TrackingSettings":
        """Settings from a dict (settings file, Blender properties); unknown names are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise OmniTraxError(f"Unknown setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)
