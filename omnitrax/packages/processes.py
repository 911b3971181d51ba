"""Child processes (pip, the device probe) that can be ended together with everything they started."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def new_group_kwargs() -> dict:
    """Start a child in its own process group so cancel() can end it together with its children."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """End `proc` and every process it started (pip runs build backends in children)."""
    if proc.poll() is not None:
        return
    if os.name == "nt":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
        # whatever is left of the group (the leader, or children that ignored SIGTERM)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
