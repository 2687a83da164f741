"""Exceptions raised by the selection engine.

Every error carries the JSON path it is about (``strategies[1].strategy.operation``) or the
data item (``metadata['lightly.sharpness']``) so callers can show one clear sentence.
"""

from __future__ import annotations


class SelectionError(ValueError):
    """Base class: something about the config or the data prevents a selection."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)


class ConfigError(SelectionError):
    """The selection config JSON is invalid (decidable from the config alone)."""


class DataError(SelectionError):
    """The config is valid but the data it refers to is missing or unusable."""


class SelectionCancelled(Exception):
    """Raised by :func:`select` when the ``cancel`` callback returned True."""
