"""Export the samples of a tag in the format the next tool wants, optionally with the files:
the one export helper of the app. ``tag_export`` writes to a path (``manage.py export_tag``);
``tag_export_download`` writes into a private temporary folder and returns an open file for
the tag page, the run result page and the API. The formats are the registry of
``curation.formats.export`` (``FORMATS``); this module gathers the rows each one needs.

Formats: ``filenames`` (one a line), ``csv`` (metadata, annotations, scores), ``coco``
(images and annotations of a task; category id = 1 + index in the task's categories, image id =
sample id, so ids are stable across exports of a dataset), ``yolo`` (labels folder + data.yaml),
``lightly-csv`` (the embeddings CSV of the whole space with ``selected`` = member of the tag),
``video_frames`` (the tag's video frames: video, frame index, timestamp, file name).
Files are written under a temporary name and renamed into place. Copy/link exports reach every
file through the checked join (``curation.storage.paths.safe_join``), refuse before writing when
any destination exists, and on failure remove only what they created.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from curation.formats.export import (
    FORMAT_NAMES,
    ExportError,
    ExportFormat,
    ExportRows,
    LightlyColumns,
    export_format,
)
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Score, Tag
from curation.selection.kernels_align import RowIndex
from curation.storage.embeddings import embedding_space_load
from curation.storage.frames import sample_source_path
from curation.storage.paths import UnsafePathError, safe_join

__all__ = [
    "FORMAT_NAMES",
    "ExportDownload",
    "ExportError",
    "ExportSummary",
    "tag_export",
    "tag_export_download",
]


@dataclass
class ExportSummary:
    output: Path
    samples: int = 0
    annotations: int = 0
    files_copied: int = 0
    files_missing: list[str] = field(default_factory=list)


@dataclass
class ExportDownload:
    """An export ready to send: an open file (its folder already removed), the name to offer
    and the content type. The caller hands ``handle`` to the response, which closes it."""

    handle: IO[bytes]
    filename: str
    content_type: str
    summary: ExportSummary


def tag_export(
    *,
    dataset: Dataset,
    tag: Tag,
    format: str,
    output: str | Path,
    task: str | None = None,
    embedding_name: str | None = None,
    copy_to: str | Path | None = None,
    symlink_to: str | Path | None = None,
) -> ExportSummary:
    """Write the samples of ``tag`` to ``output`` (a file, or a folder for ``yolo``)."""
    spec = export_format(format)
    if tag.dataset_id != dataset.pk:
        raise ExportError(f"Tag {tag.name!r} belongs to another dataset.")
    if copy_to and symlink_to:
        raise ExportError("Choose either copying or symlinking the files, not both.")
    output = Path(output)
    if spec.objects and tag.kind != Tag.Kind.OBJECTS:
        raise ExportError(f"{format} exports an objects tag (of an object-level selection).")
    if tag.kind == Tag.Kind.OBJECTS:  # the images of its objects; only its objects
        samples = list(
            Sample.objects.filter(annotations__tags=tag).distinct().order_by("file_name")
        )
    elif spec.frames:  # video_frames: the tag's frames with their videos, images left out
        samples = list(
            Sample.objects.filter(memberships__tag=tag, video__isnull=False)
            .select_related("video")
            .order_by("video__name", "frame_index")
        )
        if not samples:
            raise ExportError(
                f"Tag {tag.name!r} holds no video frames: {format} lists frames of videos; "
                "export it as filenames or csv instead."
            )
    else:
        samples = list(Sample.objects.filter(memberships__tag=tag).order_by("file_name"))
    summary = ExportSummary(output=output, samples=len(samples))
    plan = None
    if copy_to or symlink_to:  # checked before anything is written
        plan = _copy_plan(dataset, samples, Path(copy_to or symlink_to or ""), summary)
    rows = _rows(spec, dataset, tag, samples, task, embedding_name)
    summary.annotations = sum(len(v) for per in rows.annotations.values() for v in per.values())
    spec.write(output, rows)
    if plan is not None:
        _copy_files(plan, bool(symlink_to), summary)
    return summary


def tag_export_download(
    *,
    dataset: Dataset,
    tag: Tag,
    format: str,
    filename_stem: str,
    task: str | None = None,
    embedding_name: str | None = None,
) -> ExportDownload:
    """``tag_export`` into a private temporary folder, as one file to download (a folder
    format as a zip); the folder is removed before this returns (the open handle keeps the
    bytes readable). The download is called ``<filename_stem>.<extension>``."""
    spec = export_format(format)
    folder = Path(tempfile.mkdtemp(prefix="curation-export-"))
    try:  # server paths never hold names that come from data
        output = folder / ("export" if spec.folder else f"export.{spec.extension}")
        summary = tag_export(
            dataset=dataset,
            tag=tag,
            format=format,
            output=output,
            task=task,
            embedding_name=embedding_name,
        )
        if spec.folder:
            output = Path(shutil.make_archive(str(folder / "archive"), "zip", root_dir=output))
        handle = open(output, "rb")  # noqa: SIM115 (the response closes it)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ExportDownload(
        handle=handle,
        filename=f"{filename_stem}.{spec.extension}",
        content_type=spec.content_type,
        summary=summary,
    )


def _rows(
    spec: ExportFormat,
    dataset: Dataset,
    tag: Tag,
    samples: list[Sample],
    task: str | None,
    embedding_name: str | None,
) -> ExportRows:
    """What the format's writer needs, in a few bulk queries."""
    rows = ExportRows(samples=samples, image_root=dataset.image_root)
    if spec.tasks == "all":
        rows.tasks = list(AnnotationTask.objects.filter(dataset=dataset).order_by("name"))
        rows.scores = _scores(tag)
    elif spec.tasks != "none":
        chosen = _task(dataset, task, required=spec.tasks == "one-required")
        rows.tasks = [chosen] if chosen else []
    if tag.kind == Tag.Kind.OBJECTS:  # COCO / CSV with only the selected objects
        rows.objects = list(
            Annotation.objects.filter(object_memberships__tag=tag)
            .select_related("task")
            .order_by("object_memberships__rank")
        )
        rows.tasks = sorted({a.task for a in rows.objects}, key=lambda t: t.name)[:1]
        rows.annotations = {t.pk: {} for t in rows.tasks}
        for ann in rows.objects:
            rows.annotations[ann.task_id].setdefault(ann.sample_id, []).append(ann)
    elif rows.tasks:
        rows.annotations = _annotations(tag, rows.tasks)
    if spec.embeddings:
        rows.embeddings = _lightly_columns(dataset, tag, embedding_name)
    return rows


def _task(dataset: Dataset, name: str | None, *, required: bool) -> AnnotationTask | None:
    tasks = {t.name: t for t in AnnotationTask.objects.filter(dataset=dataset)}
    if name is not None:
        if name not in tasks:
            known = ", ".join(sorted(tasks)) or "none"
            raise ExportError(f"{dataset.name} has no task {name!r} (tasks: {known}).")
        return tasks[name]
    if AnnotationTask.GROUND_TRUTH in tasks:
        return tasks[AnnotationTask.GROUND_TRUTH]
    if len(tasks) == 1:
        return next(iter(tasks.values()))
    if required or tasks:
        raise ExportError(
            f"{dataset.name} has no ground_truth task: name the task to export with --task."
        )
    return None


def _annotations(tag: Tag, tasks: list[AnnotationTask]) -> dict[int, dict[int, list[Annotation]]]:
    by_task: dict[int, dict[int, list[Annotation]]] = {t.pk: {} for t in tasks}
    rows = Annotation.objects.filter(task__in=tasks, sample__memberships__tag=tag).order_by("pk")
    for annotation in rows:
        by_task[annotation.task_id].setdefault(annotation.sample_id, []).append(annotation)
    return by_task


def _scores(tag: Tag) -> dict[int, dict[str, float]]:
    scores: dict[int, dict[str, float]] = {}
    rows = Score.objects.filter(sample__memberships__tag=tag).values_list(
        "sample_id", "task", "name", "value"
    )
    for sample_id, task, name, value in rows:
        scores.setdefault(sample_id, {})[f"{task}.{name}"] = value
    return scores


def _lightly_columns(dataset: Dataset, tag: Tag, name: str | None) -> LightlyColumns:
    spaces = {s.name: s for s in dataset.embedding_spaces.all()}
    if not spaces:
        raise ExportError(f"{dataset.name} has no embeddings: the Lightly CSV needs them.")
    if name is None:
        if len(spaces) > 1 and "default" not in spaces:
            raise ExportError(
                f"{dataset.name} has several embedding spaces ({', '.join(sorted(spaces))}): "
                "name one with --embedding-name."
            )
        space = spaces.get("default") or next(iter(spaces.values()))
    elif name in spaces:
        space = spaces[name]
    else:
        raise ExportError(f"{dataset.name} has no embedding space {name!r}.")
    loaded = embedding_space_load(space)
    ids = loaded.sample_ids
    index = RowIndex(ids)
    names = dict(Sample.objects.filter(dataset=dataset).values_list("id", "file_name"))
    members = np.fromiter(tag.memberships.values_list("sample_id", flat=True), dtype=np.int64)
    labels = np.zeros(len(ids), dtype=np.int64)
    ground_truth = AnnotationTask.objects.filter(
        dataset=dataset,
        name=AnnotationTask.GROUND_TRUTH,
        kind=AnnotationTask.Kind.CLASSIFICATION,
    ).first()
    if ground_truth is not None:
        index_of = {c: i for i, c in enumerate(ground_truth.categories)}
        by_sample = dict(ground_truth.annotations.values_list("sample_id", "label"))
        labels = np.array([index_of.get(by_sample.get(int(i), ""), 0) for i in ids], np.int64)
    return LightlyColumns(
        file_names=[names[int(i)] for i in ids],
        matrix=np.asarray(loaded.matrix),
        selected=index.mask(members),
        labels=labels,
    )


def _copy_plan(
    dataset: Dataset, samples: list[Sample], target: Path, summary: ExportSummary
) -> list[tuple[Path, Path]]:
    """(source, destination) of every file to copy to ``target``, both through the checked join.

    Nothing that exists is ever replaced: when any destination exists already (the target is
    the image folder itself, a folder of an earlier export, ...) the export is refused here,
    before a file is written. Missing sources are listed in ``summary``.
    """
    if not dataset.image_root and any(sample.video_id is None for sample in samples):
        raise ExportError(f"{dataset.name} has no image folder, so there are no files to copy.")
    plan: list[tuple[Path, Path]] = []
    for sample in samples:
        try:
            source = sample_source_path(  # a video frame: from the frames store
                dataset_id=dataset.pk,
                image_root=dataset.image_root,
                file_name=sample.file_name,
                is_frame=sample.video_id is not None,
            )
        except UnsafePathError as exc:
            raise ExportError(
                f"The file name {sample.file_name!r} {exc.reason} (the image folder): nothing "
                "was copied."
            ) from None
        try:
            destination = safe_join(target, sample.file_name)
        except UnsafePathError as exc:
            raise ExportError(
                f"The file name {sample.file_name!r} {exc.reason} ({target}): nothing was copied."
            ) from None
        if os.path.lexists(destination):
            raise ExportError(
                f"{sample.file_name} already exists in {target}: export into an empty folder, "
                "nothing was copied."
            )
        if not source.is_file():
            summary.files_missing.append(sample.file_name)
            continue
        plan.append((source, destination))
    return plan


def _copy_files(plan: list[tuple[Path, Path]], symlink: bool, summary: ExportSummary) -> None:
    """Carry out ``_copy_plan``; when a copy fails midway, the files and folders this call
    created are removed again, and only those."""
    created_files: list[Path] = []
    created_folders: list[Path] = []
    try:
        for source, destination in plan:
            _make_folders(destination.parent, created_folders)
            if symlink:
                os.symlink(source, destination)
            else:
                with open(source, "rb") as reader, open(destination, "xb") as writer:
                    created_files.append(destination)
                    shutil.copyfileobj(reader, writer)
                shutil.copystat(source, destination)
            if symlink:
                created_files.append(destination)
            summary.files_copied += 1
    except BaseException:
        for path in created_files:
            path.unlink(missing_ok=True)
        for folder in reversed(created_folders):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        summary.files_copied = 0
        raise


def _make_folders(folder: Path, created: list[Path]) -> None:
    """``mkdir -p`` that records the folders it made, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=False)
        created.append(path)
