"""A small text progress bar for long client calls (uploads, runs, jobs), on stderr.

No dependency: a terminal gets one line redrawn in place; elsewhere (a notebook's captured
stderr, a log file) a line is written at most every few seconds. ``show_progress=False`` on any
call, or ``CURATION_PROGRESS=0``, turns it off.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO


def progress_enabled(show: bool | None) -> bool:
    if show is not None:
        return show
    return os.environ.get("CURATION_PROGRESS", "1") not in {"0", "false", "no"}


class ProgressBar:
    """``with ProgressBar("Uploading", total) as bar: bar.update(done)``."""

    WIDTH = 30

    def __init__(
        self, label: str, total: int = 0, *, enabled: bool = True, stream: TextIO | None = None
    ):
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._text = ""

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        self.done = done
        if total is not None:
            self.total = total
        self._draw(note, force=False)

    def _draw(self, note: str, *, force: bool) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(share * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            text = f"{self.label} [{bar}] {self.done}/{self.total}"
        else:
            text = f"{self.label} ..."
        if note:
            text += f" {note}"
        self._text = text
        if self.tty:
            self.stream.write("\r" + text.ljust(79))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, note: str = "") -> None:
        if not self.enabled:
            return
        self._draw(note, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self.enabled = False
