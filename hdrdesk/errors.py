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
