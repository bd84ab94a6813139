"""Errors that carry a one-line message for the user (the CLI prints it and exits non-zero)."""


class MotionLLMError(Exception):
    """Base class: anything the user can fix (bad input, missing file, unknown robot...)."""


class MotionFormatError(MotionLLMError, ValueError):
    """A motion file or array is malformed, or of a format we cannot read."""
