"""Selection runs: start (validate, record, enqueue), cancel, recover, re-run.

One path for the UI, the API and the CLI. ``selection_run_start`` checks everything it can
synchronously and raises :class:`SelectionRunError` (one sentence naming the JSON path or the
parameter) before anything is written. The run then executes in a durable background task
(``curation.tasks.selection_run_task``, enqueued once the run row commits) or, for the CLI,
inline; either way through ``selection_run_execute`` (``selection_runs``).

Pre-selected samples are added to the candidates even when the filter leaves them out (they are
part of the result); masked samples are invisible to the engine, also when pre-selected. Unless a
run names its own mask / pre-selection tag (or none), the dataset's defaults apply — here, and
only here (``selection_defaults.run_option_tags``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from curation.filters import FilterError, SampleFilter
from curation.models import Dataset, SelectionRun, StrategyPreset, Tag
from curation.presets.services import preset_mark_used
from curation.realtime.run_events import run_progress_push
from curation.runs.defaults import (
    DATASET_DEFAULT,
    TagChoice,
    candidate_counts,
    run_option_tags,
)
from curation.runs.execute import ProgressCallback, finish, selection_run_execute
from curation.runs.inputs import (
    SelectionRunError,
    candidate_queryset,
    option_tag,
    parse_run_config,
    resolve_inputs,
)
from curation.tags.services import TagError, tag_name_clean

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

DEAD_WORKER_MESSAGE = "The worker running this selection stopped responding; re-run it."
NEVER_QUEUED_MESSAGE = "This selection never reached the task queue; re-run it."


# ----------------------------------------------------------------------------- start


def _check_tag_name(dataset: Dataset, name: str) -> str:
    try:
        name = tag_name_clean(name or "")
    except TagError as exc:  # the tag-name rules live in the tags service
        message = str(exc)
        raise SelectionRunError(
            f"result_tag_name: {message[0].lower()}{message[1:]}", path="result_tag_name"
        ) from None
    if Tag.objects.filter(dataset=dataset, name=name).exists():
        raise SelectionRunError(
            f"result_tag_name: a tag named {name!r} already exists in dataset {dataset.name!r}; "
            "choose another name.",
            path="result_tag_name",
        )
    return name


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
) -> SelectionRun:
    """Validate, record a queued run, and run it in the background (or inline, for the CLI).

    Raises :class:`SelectionRunError` before writing anything when the config, the tag names,
    the filter or an input the config refers to is wrong, or when no sample is a candidate.
    Inline execution returns the finished run (check its ``status``); ``progress`` is called
    with the run on every engine progress tick. ``mask_tag`` / ``preselected_tag``: a tag name,
    ``None`` for none, or ``DATASET_DEFAULT`` (the default) for the dataset's defaults.
    """
    if execute not in ("enqueue", "inline"):
        raise ValueError(f"execute must be 'enqueue' or 'inline', not {execute!r}")
    if Dataset.objects.filter(pk=dataset.pk, deleting=True).exists():
        raise SelectionRunError(
            f"Dataset {dataset.name!r} is being deleted: it can no longer be opened or changed.",
            path="dataset",
        )
    parsed = parse_run_config(config)
    name = _check_tag_name(dataset, result_tag_name)
    sample_filter = candidate_filter or SampleFilter()
    mask_name, pre_name = run_option_tags(
        dataset=dataset, mask_tag=mask_tag, preselected_tag=preselected_tag
    )
    mask = option_tag(dataset, mask_name, "mask_tag")
    pre = option_tag(dataset, pre_name, "preselected_tag")
    candidates = candidate_queryset(dataset, sample_filter, pre)
    counts = candidate_counts(pool=candidates, mask=mask, preselected=pre)
    if counts.candidates + counts.masked == 0:
        raise SelectionRunError(
            f"candidate_filter: no sample of dataset {dataset.name!r} matches "
            f"({sample_filter.describe()}); widen the filter.",
            path="candidate_filter",
        )
    if counts.candidates == 0:
        raise SelectionRunError(
            f"mask_tag: every matching sample is in the mask tag {mask_name!r}; "
            "nothing is left to select from.",
            path="mask_tag",
        )
    resolve_inputs(dataset=dataset, config=parsed, candidates=candidates, user=user)
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
    with transaction.atomic():
        run = SelectionRun.objects.create(
            dataset=dataset,
            preset=preset,
            config=config,
            candidate_filter=sample_filter.to_dict(),
            options=options,
            candidate_count=counts.candidates,
            requested_n=parsed.n_samples,
            result_tag_name=name,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if preset is not None:
            preset_mark_used(
                preset=preset, user=user if getattr(user, "is_authenticated", False) else None
            )
        if execute == "enqueue":
            run_id = run.pk
            transaction.on_commit(lambda: _enqueue(run_id))
    if execute == "inline":
        selection_run_execute(run_id=run.pk, progress=progress)
        run.refresh_from_db()
    return run


def _enqueue(run_id: int) -> None:
    from curation.tasks import selection_run_task

    try:
        result = selection_run_task.enqueue(run_id=run_id)
    except Exception:
        logger.exception("Could not enqueue selection run %s", run_id)
        finish(run_id, Status.FAILED, error=NEVER_QUEUED_MESSAGE, expect=Status.QUEUED)
        return
    SelectionRun.objects.filter(pk=run_id).update(task_id=str(result.id)[:64])


# ----------------------------------------------------------------------------- cancel, recover


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


def selection_runs_recover() -> list[int]:
    """Fail runs whose worker died (no heartbeat for 3 intervals) and queued runs that never
    reached the queue. Cheap; called at worker start and when runs are viewed. Returns ids."""
    horizon = timezone.now() - timedelta(seconds=3 * settings.CURATION_WORKER_HEARTBEAT_SECONDS)
    stale = Q(status=Status.RUNNING) & (
        Q(heartbeat_at__lt=horizon) | Q(heartbeat_at__isnull=True, started_at__lt=horizon)
    )
    lost = Q(status=Status.QUEUED, task_id="", created__lt=horizon)
    recovered = []
    for pk, status in SelectionRun.objects.filter(stale | lost).values_list("pk", "status"):
        error = DEAD_WORKER_MESSAGE if status == Status.RUNNING else NEVER_QUEUED_MESSAGE
        if finish(pk, Status.FAILED, error=error, expect=status):
            recovered.append(pk)
    if recovered:
        logger.warning("Marked selection runs %s as failed (worker gone)", recovered)
    return recovered


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
    )
