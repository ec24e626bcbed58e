"""Errors the user can act on. Their message is shown as is (CLI: one line, GUI: notification)."""

from __future__ import annotations


class HDRDeskError(Exception):
    """Base class for errors that carry a user-facing message."""


class InputError(HDRDeskError):
    """A bad input: unreadable file, wrong sizes, too few frames..."""


class OutputError(HDRDeskError):
    """An output cannot be written (exists, unwritable, equals an input...)."""


class ModelError(HDRDeskError):
    """A model file that cannot be loaded (wrong architecture, truncated, not a model)."""


class Cancelled(HDRDeskError):
    """The job was cancelled by the user (or superseded by a newer request)."""


class UserFolderUnavailable(HDRDeskError, OSError):
    """The user data (or log) folder cannot be created or used. Also an OSError, so code
    that already treats folder trouble as OSError keeps working; the app starts without it."""


def is_expected(exc: BaseException) -> bool:
    """A problem the user can act on (bad input, unwritable output, memory): its message is enough, no traceback."""
    return isinstance(exc, (HDRDeskError, MemoryError, OSError))


def user_message(exc: BaseException) -> str:
    """The one line shown for an exception: on stderr (CLI, batch, eval) or in a notification (app).

    HDRDeskError: its own message; OSError: 'file: reason'; MemoryError: what to try;
    anything else: its type and the first line of its text (a bug, or a library's surprise).
    """
    if isinstance(exc, HDRDeskError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller working size or smaller images)"
    if isinstance(exc, OSError):
        name = exc.filename
        return f"{str(name) + ': ' if name else ''}{exc.strerror or exc}"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
