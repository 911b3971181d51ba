"""User-facing errors.

Raise OmniTraxError for anything the user can fix (a missing file, a wrong setting). Its message is
one line that says what is wrong and what to do; the CLI prints it and exits non-zero, the Blender
operators show it with self.report({'ERROR'}, ...). Programming errors stay ordinary exceptions.
"""


class OmniTraxError(Exception):
    """A problem with the user's input, with a one-line message that says what to do."""
