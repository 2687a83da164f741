"""CSV cells a spreadsheet will not run as formulas: shared by every CSV writer of the exports
(``export``, ``export_videos``, ``export_objects``). Pure: no Django."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula: one starting with ``= + - @``, a tab
    or a carriage return gets a leading ``'`` (numbers are written as numbers, untouched)."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text
