"""All tracking settings in one flat record, generated from the schema in omnitrax.settings.

Field names, defaults and checks come from `omnitrax.settings.TRACKING`; nothing is declared here.
"""
from __future__ import annotations

from dataclasses import asdict, field, fields, make_dataclass

from .. import settings as schema
from ..errors import OmniTraxError


def _post_init(self):
    for name, value in schema.check_all(self.to_dict()).items():
        setattr(self, name, value)


def _from_mapping(cls, values: dict, where: str = ""):
    """Settings from a dict (settings file, Blender properties, CLI); unknown names are an error."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise OmniTraxError(f"Unknown setting(s): {', '.join(unknown)}{f' in {where}' if where else ''}. "
                            f"Known: {', '.join(sorted(known))}.")
    # checked together with the defaults, so a rule between a given value and a default one (max_area
    # below the default min_area) is refused here, naming `where`, not later in __post_init__ without it
    return cls(**schema.check_all({**{f.name: f.default for f in fields(cls)}, **values}, where))


TrackingSettings = make_dataclass(
    "TrackingSettings",
    [(s.name, s.kind, field(default=s.default)) for s in schema.TRACKING],
    namespace={"__post_init__": _post_init, "from_mapping": classmethod(_from_mapping),
               "to_dict": lambda self: asdict(self),
               "__doc__": "Detection, background-detector and tracker settings (see omnitrax.settings)."},
)
TrackingSettings.__module__ = __name__
