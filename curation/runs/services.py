"""Selection runs: start (prepare, record, enqueue), cancel, re-run.

One path for the UI, the API and the CLI. ``selection_run_start`` runs the prepare step
(``runs.prepare.selection_run_prepare``: config and filter parsed once, inputs resolved once)
and raises :class:`SelectionRunError` (one sentence naming the JSON path or the parameter)
before anything is written. The run then executes in a durable background task
(``curation.tasks.selection_run_task``, enqueued once the run row commits) or, for the CLI,
inline with the same ``PreparedRun``; either way through ``runs.execute.selection_run_execute``,
which prepares the stored snapshot the same way and hands the parsed config to the engine.
Dead runs are failed by the worker loop (``runs.recover``), never by a page view.

Pre-selected samples are added to the candidates even when the filter leaves them out (they are
part of the result); masked samples are invisible to the engine, also when pre-selected. Unless a
run names its own mask / pre-selection tag (or none), the dataset's defaults apply — in the
prepare step, and only there (``runs.defaults.run_option_tags``).

Layering (no import cycle): ``runs.prepare`` <- ``runs.execute`` <- ``curation.tasks`` <- this
module.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from django.db import transaction

from curation.filters import FilterError, SampleFilter
from curation.models import Dataset, SelectionRun, StrategyPreset
from curation.presets.services import preset_mark_used
from curation.realtime.run_events import run_progress_push
from curation.runs.defaults import DATASET_DEFAULT, TagChoice
from curation.runs.execute import ProgressCallback, finish, selection_run_execute
from curation.runs.inputs import SelectionRunError
from curation.runs.prepare import selection_run_prepare
from curation.runs.recover import (
    DEAD_WORKER_MESSAGE,
    NEVER_QUEUED_MESSAGE,
    selection_runs_recover,
)
from curation.selection import ConfigError, knn_options
from curation.tasks import selection_run_task

__all__ = [
    "DATASET_DEFAULT",
    "DEAD_WORKER_MESSAGE",
    "SelectionRunError",
    "selection_run_cancel",
    "selection_run_execute",
    "selection_run_rerun",
    "selection_run_start",
    "selection_runs_recover",
]

logger = logging.getLogger(__name__)

Status = SelectionRun.Status


# ----------------------------------------------------------------------------- start


def selection_run_start(
    *,
    dataset: Dataset,
    config: dict[str, Any],
    result_tag_name: str,
    user: Any,
    candidate_filter: SampleFilter | None = None,
    mask_tag: TagChoice = DATASET_DEFAULT,
    preselected_tag: TagChoice = DATASET_DEFAULT,
    preset: StrategyPreset | None = None,
    execute: Literal["enqueue", "inline"] = "enqueue",
    progress: ProgressCallback | None = None,
    rerun_of: SelectionRun | None = None,
    knn: dict[str, Any] | None = None,
) -> SelectionRun:
    """Prepare, record a queued run, and run it in the background (or inline, for the CLI).

    Raises :class:`SelectionRunError` before writing anything when the config, the tag names,
    the filter or an input the config refers to is wrong, or when no sample is a candidate.
    Inline execution returns the finished run (check its ``status``); ``progress`` is called
    with the run on every engine progress tick. ``mask_tag`` / ``preselected_tag``: a tag name,
    ``None`` for none, or ``DATASET_DEFAULT`` (the default) for the dataset's defaults.
    ``knn``: how typicality finds neighbours (``{"mode": "auto" | "exact" | "approximate",
    "approximate_above": rows}``, ``curation.selection.options``), kept in the run's options.
    """
    knn_settings = _knn_option(knn)
    if execute not in ("enqueue", "inline"):
        raise ValueError(f"execute must be 'enqueue' or 'inline', not {execute!r}")
    if Dataset.objects.filter(pk=dataset.pk, deleting=True).exists():
        raise SelectionRunError(
            f"Dataset {dataset.name!r} is being deleted: it can no longer be opened or changed.",
            path="dataset",
        )
    prepared = selection_run_prepare(
        dataset=dataset,
        config=config,
        user=user,
        candidate_filter=candidate_filter,
        mask_tag=mask_tag,
        preselected_tag=preselected_tag,
        result_tag_name=result_tag_name,
    )
    mask, pre, counts = prepared.mask, prepared.preselected, prepared.counts
    options: dict[str, Any] = {"mask_tag": mask.name if mask else None}
    options["preselected_tag"] = pre.name if pre else None
    options["defaults"] = [
        key
        for key, choice in (("mask_tag", mask_tag), ("preselected_tag", preselected_tag))
        if choice is DATASET_DEFAULT and options[key] is not None
    ]
    options["counts"] = {"masked": counts.masked, "preselected": counts.preselected}
    if rerun_of is not None:
        options["rerun_of"] = rerun_of.pk
    if knn_settings is not None:
        options["knn"] = knn_settings
    author = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        run = SelectionRun.objects.create(
            dataset=dataset,
            preset=preset,
            config=config,
            candidate_filter=prepared.sample_filter.to_dict(),
            options=options,
            candidate_count=counts.candidates,
            requested_n=prepared.config.n_samples,
            result_tag_name=prepared.result_tag_name or result_tag_name,
            created_by=author,
        )
        if preset is not None:
            preset_mark_used(preset=preset, user=author)
        if execute == "enqueue":
            run_id = run.pk
            transaction.on_commit(lambda: _enqueue(run_id))
    if execute == "inline":
        selection_run_execute(run_id=run.pk, progress=progress, prepared=prepared)
        run.refresh_from_db()
    return run


def _enqueue(run_id: int) -> None:
    try:
        result = selection_run_task.enqueue(run_id=run_id)
    except Exception:
        logger.exception("Could not enqueue selection run %s", run_id)
        finish(run_id, Status.FAILED, error=NEVER_QUEUED_MESSAGE, expect=Status.QUEUED)
        return
    SelectionRun.objects.filter(pk=run_id).update(task_id=str(result.id)[:64])


# ----------------------------------------------------------------------------- cancel, re-run


def selection_run_cancel(*, run: SelectionRun, user: Any) -> SelectionRun:
    """Cancel a run: a queued one at once, a running one within a second (its worker stops and
    writes nothing). Raises :class:`SelectionRunError` for a finished run."""
    who = getattr(user, "get_username", lambda: "")() or "someone"
    message = f"Cancelled by {who} before it started; no tag was written."
    if finish(run.pk, Status.CANCELLED, message=message, expect=Status.QUEUED):
        run.refresh_from_db()
        return run
    flagged = SelectionRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
        cancel_requested=True
    )
    run.refresh_from_db()
    if not flagged:
        raise SelectionRunError(
            f"Run {run.pk} has already finished ({run.get_status_display().lower()}); "
            "there is nothing to cancel.",
            path="run",
        )
    run_progress_push(run)
    return run


def selection_run_rerun(
    *,
    run: SelectionRun,
    user: Any,
    result_tag_name: str | None = None,
    execute: Literal["enqueue", "inline"] = "enqueue",
    progress: ProgressCallback | None = None,
) -> SelectionRun:
    """Start a new run with the same config, candidate filter, options and preset."""
    if not run.is_final:
        raise SelectionRunError(
            f"Run {run.pk} is still {run.get_status_display().lower()}; "
            "cancel it or wait for it to finish before re-running it.",
            path="run",
        )
    try:
        sample_filter = SampleFilter.parse(run.candidate_filter)
    except FilterError as exc:
        raise SelectionRunError(str(exc), path="candidate_filter") from None
    return selection_run_start(
        dataset=run.dataset,
        config=run.config,
        result_tag_name=result_tag_name or run.result_tag_name,
        user=user,
        candidate_filter=sample_filter,
        mask_tag=run.options.get("mask_tag"),
        preselected_tag=run.options.get("preselected_tag"),
        preset=run.preset,
        execute=execute,
        progress=progress,
        rerun_of=run,
        knn=run.options.get("knn"),
    )


def _knn_option(knn: Any) -> dict[str, Any] | None:
    """The validated k-NN run option (None: the engine's default), or SelectionRunError."""
    if knn is None:
        return None
    try:
        return knn_options(knn).to_dict()
    except ConfigError as exc:
        raise SelectionRunError(f"{exc.path}: {exc.detail}", path=exc.path) from None
