"""Errors a user can act on. The CLI prints the message on one line and exits with code 2."""


class InpaintError(Exception):
    """Base class: the message says what is wrong and what to do about it."""


class DatasetError(InpaintError):
    """A dataset is missing, empty, corrupt or of an unsupported kind."""


class CheckpointError(InpaintError):
    """A checkpoint or weights file is missing, corrupt or of another format version."""


class OutputError(InpaintError):
    """An output location cannot be written."""
