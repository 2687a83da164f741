"""An independent reference for sequence selection (``selected_sequence_length``): group the
frames by video, sort them by frame index, cut chunks of L, average each chunk's inputs, run the
plain engine on the chunks and expand the picked chunks to their frames. Deliberately written
with plain Python loops, sharing nothing with ``curation.selection.sequences``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from curation.models import Sample, Video
from curation.selection import ArrayData, select
from curation.storage.embeddings import embedding_space_store
from curation.storage.frames import frame_file_name


def reference_units(videos: np.ndarray, frames: np.ndarray, L: int) -> list[list[int]]:
    by_video: dict[int, list[int]] = defaultdict(list)
    for row, video in enumerate(videos):
        if video >= 0:
            by_video[int(video)].append(row)
    units = []
    for rows in by_video.values():
        rows.sort(key=lambda r: (frames[r], r))
        for a in range(0, len(rows) - L + 1, L):
            units.append(rows[a : a + L])
    units.sort(key=lambda unit: unit[0])
    return units


def reference_select(
    config: dict[str, Any], data: ArrayData, videos: np.ndarray, frames: np.ndarray
) -> list[int]:
    L = config["selected_sequence_length"]
    units = reference_units(videos, frames, L)

    def mean(values: np.ndarray, unit: list[int]) -> Any:
        total = np.asarray(values[unit[0]], dtype=np.float64).copy()
        for row in unit[1:]:
            total = total + values[row]
        return total / L

    embeddings = {
        name: np.array([mean(X, u) for u in units]).astype(X.dtype)
        for name, X in data.embeddings.items()
    }
    metadata = {}
    for key, values in data.metadata.items():
        if values.dtype == object:
            metadata[key] = np.array([values[u[0]] for u in units], dtype=object)
        else:
            metadata[key] = np.array([mean(values, u) for u in units])
    scores = {k: np.array([mean(v, u) for u in units]) for k, v in data.scores.items()}
    flags = {}
    for name in ("masked", "preselected"):
        arr = getattr(data, name)
        flags[name] = None if arr is None else np.array([bool(arr[u].any()) for u in units])
    unit_config = {k: v for k, v in config.items() if k != "selected_sequence_length"}
    if "n_samples" in unit_config:
        unit_config["n_samples"] //= L
    unit_data = ArrayData(
        embeddings=embeddings, metadata=metadata, scores=scores, n=len(units), **flags
    )
    picked = select(unit_config, unit_data).indices
    return [row for i in picked for row in units[int(i)]]


def frame_dataset(
    dataset: Any,
    counts: dict[str, int],
    *,
    images: int = 0,
    dim: int = 6,
    seed: int = 0,
    fps: float = 5.0,
) -> list[int]:
    """Videos named as ``counts``' keys with that many frame samples each (metadata
    ``video_name``, ``frame_index``, ``timestamp_s``, ``sharpness``) plus ``images`` images,
    inserted in a shuffled order (ids are not frame order), and a ``default`` embedding space
    for every sample. Returns the sample ids ascending."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, count in counts.items():
        video = Video.objects.create(
            dataset=dataset,
            name=name,
            fps=fps,
            duration_s=count / fps,
            frame_count=count,
            width=64,
            height=48,
            size_bytes=1000,
        )
        for index in range(count):
            rows.append(
                Sample(
                    dataset=dataset,
                    file_name=frame_file_name(name, index),
                    video=video,
                    frame_index=index,
                    width=64,
                    height=48,
                    metadata={
                        "video_name": name,
                        "frame_index": index,
                        "timestamp_s": index / fps,
                        "sharpness": float(rng.uniform(0, 10)),
                    },
                )
            )
    for index in range(images):
        rows.append(
            Sample(
                dataset=dataset,
                file_name=f"img_{index:03d}.jpg",
                metadata={"sharpness": float(rng.uniform(0, 10))},
            )
        )
    Sample.objects.bulk_create([rows[i] for i in rng.permutation(len(rows))])
    ids = list(Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
    embedding_space_store(
        dataset=dataset,
        name="default",
        matrix=rng.normal(size=(len(ids), dim)),
        sample_ids=np.asarray(ids),
    )
    return ids
