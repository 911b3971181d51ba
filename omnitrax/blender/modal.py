"""The base of OmniTrax's long-running operators: timer, progress bar, status text, Esc, redraw and
failure reports, once. An operator only says which job it runs (make_job) and what the job is called.

A job is a plain object with:
    description: str   what runs (model, backend), reported when it starts
    total, done: int   progress units
    step(budget_s) -> bool   work for about budget_s seconds; False when there is no more to do
    refresh()          show what is done so far (e.g. live markers); called between steps in the UI
    status_text() -> str
    stop()             Esc: wind down, so that step() soon returns False
    finish(stopped) -> str   write the results; the line to report
    problem: str       (optional) set when the job ended early on bad input but kept its results: the
                       line is then reported as an error
    undo()             a failure: put the user's data back as it was before the run
    close()
"""
from __future__ import annotations

import bpy

from ..errors import OmniTraxError
from .context import redraw_clip_editors


def failure_text(exc: Exception, what: str) -> str:
    """A user mistake (OmniTraxError) as it is; anything else as a bug, one line, details in the console."""
    if isinstance(exc, OmniTraxError):
        return str(exc)
    import traceback

    traceback.print_exception(exc)
    if isinstance(exc, MemoryError):
        return (f"{what} ran out of memory; nothing was changed. Use a smaller region, network size or frame "
                f"range.")
    first = " ".join(str(exc).split())[:200]
    return f"{what} failed ({type(exc).__name__}: {first}); nothing was changed. Details in the system console."


class JobOperator:
    """Mixin for a bpy.types.Operator that runs a job: modal with a progress bar in the UI, to the end in
    background mode. Subclasses set `job_name` (for messages) and define make_job(context)."""

    job_name = "The job"
    tick_s = 0.02
    _job = None
    _timer = None
    _stopped = False

    def make_job(self, context):
        raise NotImplementedError

    def execute(self, context):
        try:
            job = self.make_job(context)
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, self.job_name))
            return {"CANCELLED"}
        if job.description:
            self.report({"INFO"}, f"OmniTrax: {job.description}")
        self._job = job
        if bpy.app.background or context.window is None:
            return self._run_to_end()
        wm = context.window_manager
        self._timer = wm.event_timer_add(self.tick_s, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, max(job.total, 1))
        return {"RUNNING_MODAL"}

    def _run_to_end(self):
        try:
            while self._job.step(1.0):
                pass
        except Exception as exc:
            return self._fail(exc)
        return self._finish(stopped=False)

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            job.stop()
            self._stopped = True
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}  # the UI stays usable while the job runs
        try:
            more = job.step(0.1)
            if more:
                job.refresh()
        except Exception as exc:
            self._cleanup(context)
            return self._fail(exc)
        if not more:
            self._cleanup(context)
            return self._finish(stopped=self._stopped)
        context.window_manager.progress_update(job.done)
        context.workspace.status_text_set(job.status_text())
        redraw_clip_editors(context)
        return {"RUNNING_MODAL"}

    def cancel(self, context):  # Blender ends the operator (window closed, file loaded)
        if self._job is not None:
            self._job.stop()
            self._cleanup(context)
            self._job.close()

    def _finish(self, stopped: bool):
        try:
            line = self._job.finish(stopped)
        except Exception as exc:
            return self._fail(exc)
        # a job that ended early on bad input keeps what it did, and says why as an error
        self.report({"ERROR" if getattr(self._job, "problem", "") else "WARNING" if stopped else "INFO"}, line)
        self._job.close()
        return {"FINISHED"}

    def _fail(self, exc: Exception):
        try:
            self._job.undo()
        finally:
            self._job.close()
        self.report({"ERROR"}, failure_text(exc, self.job_name))
        return {"CANCELLED"}

    def _cleanup(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        context.workspace.status_text_set(None)
        redraw_clip_editors(context)
