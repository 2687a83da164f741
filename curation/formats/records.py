"""What the format readers return, and the one error they raise.

Pure data (no Django, no ORM): a reader turns bytes on disk into these records; the importer
(``curation.imports``) matches their file names against a dataset's samples and writes them.
``IngestError`` is a ``ValueError`` whose message is one sentence naming the file and, where it
can, the line, column or JSON path of the problem, and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# AnnotationTask.Kind values (curation.models), spelled out: readers never import the models.
CLASSIFICATION = "classification"
DETECTION = "detection"


class IngestError(ValueError):
    """An import that cannot be carried out; the message says what and where, in one sentence."""


@dataclass(frozen=True)
class AnnotationRecord:
    """One label or box as read from a file; boxes are pixels unless ``normalized``."""

    label: str
    x: float | None = None
    y: float | None = None
    w: float | None = None
    h: float | None = None
    score: float | None = None
    probabilities: list[float] | None = None
    normalized: bool = False  # YOLO: centre x/y and size relative to the image size


@dataclass
class TaskImport:
    """Annotations of one task read from one file or folder, keyed by the file name as written."""

    name: str
    kind: str  # AnnotationTask.Kind value: CLASSIFICATION or DETECTION
    categories: list[str]
    source: str
    is_prediction: bool
    by_name: dict[str, list[AnnotationRecord]] = field(default_factory=dict)
    described: dict[str, str] = field(default_factory=dict)  # name -> "image id 7 (a.jpg)"
    match_by_stem: bool = False  # YOLO: label paths lack the image extension


@dataclass
class EmbeddingFile:
    """One embeddings file: a vector (row of ``matrix``) per file name, in file order."""

    source: str
    names: list[str]
    matrix: np.ndarray  # (N, D) float32, finite
    masked: np.ndarray | None = None  # bool (N,)
    selected: np.ndarray | None = None  # bool (N,)
    labels: list[str | None] | None = None


@dataclass
class MetadataFile:
    """One metadata file: the values of each file name, with the line they were read from."""

    source: str
    rows: list[tuple[str, dict[str, Any], int]]  # (file name, values, line)
