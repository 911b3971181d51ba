"""Identity operators: Identify Animals (modal, Esc stops, Ctrl-Z undoes) and stepping through the
uncertain fragments it lists. Core modules are imported inside execute(), never when the add-on loads."""
import bpy
from bpy.props import IntProperty

from ..context import active_clip
from ..modal import JobOperator, failure_text


class OMNITRAX_OT_identify(JobOperator, bpy.types.Operator):
    """Tell the animals apart by their appearance, so identities survive crossings: regroups the clip's
    tracks (your corrections included; locked tracks are kept as they are) into one track per animal and
    lists the fragments it is unsure of"""

    bl_idname = "omnitrax.identify"
    bl_label = "Identify Animals"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "Identify Animals"

    @classmethod
    def poll(cls, context):
        clip = active_clip(context)
        if clip is None or not len(clip.tracking.tracks):
            cls.poll_message_set("Track the clip first")
            return False
        return True

    def make_job(self, context):
        from ..identity_job import BlenderIdentityJob

        return BlenderIdentityJob(context, active_clip(context))


class OMNITRAX_OT_identity_step(bpy.types.Operator):
    """Go to the next (or previous) fragment whose identity Identify Animals was unsure of, and select its track"""

    bl_idname = "omnitrax.identity_step"
    bl_label = "Next Uncertain"

    direction: IntProperty(name="Direction", default=1, min=-1, max=1,
                           description="1: the next uncertain fragment, -1: the previous one")

    @classmethod
    def poll(cls, context):
        from ..identity_job import UNCERTAIN_KEY

        clip = active_clip(context)
        stored = clip.get(UNCERTAIN_KEY) if clip is not None else None
        if not stored or not len(stored["fragments"]):
            cls.poll_message_set("No uncertain fragments (run Identify Animals)")
            return False
        return True

    def execute(self, context):
        from ..identity_job import step_uncertain

        try:
            item = step_uncertain(context, active_clip(context), self.direction)
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, "Stepping through uncertain fragments"))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Uncertain {item['index'] + 1}/{item['count']}: {item['track']}, frames "
                              f"{item['first']}-{item['last']}, confidence {item['confidence']:.2f}")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_identify, OMNITRAX_OT_identity_step)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
