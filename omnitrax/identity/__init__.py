"""Identities (bpy-free): who is who after tracking, from track fragments, appearance and motion."""
from ..lazy import lazy_names

__all__ = ["FragmentTable", "Fragments", "IdentityResult", "IdentityRun", "LinearIdentities", "crop_features",
           "split_fragments"]
__getattr__, __dir__ = lazy_names(__name__, {
    "IdentityRun": "pipeline", "IdentityResult": "pipeline", "FragmentTable": "pipeline", "Fragments": "fragments",
    "split_fragments": "fragments", "LinearIdentities": "appearance", "crop_features": "appearance",
})
