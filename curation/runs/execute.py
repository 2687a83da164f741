"""Executing a selection run (in a worker's task, or inline for the CLI).

Claim the queued run, prepare its stored snapshot (``runs.prepare``: the same step the start
ran; an inline run reuses its start's ``PreparedRun``), load its candidates and inputs, run the
engine with throttled progress (stored and pushed at most every 0.5 s) and cancel polling (the
database flag, at most every 0.3 s), then write the result tag, pick order, explanation,
messages and timings in ONE transaction. A cancel, an engine error or a lost run writes nothing
but the run's final status and a readable message. Two runs racing for one tag name: the unique
constraint decides.
The engine gets the parsed config (``PreparedRun.engine_config``), never the dict, and the
candidates in candidate order (``runs.order``: id order, or rank order under ``text=``).

Imports no start service and no task module (``curation.tasks`` imports this one).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from curation.jobs.heartbeat import worker_task_beat
from curation.models import SelectionRun, Tag
from curation.realtime.run_events import run_progress_push
from curation.runs.inputs import SelectionRunError
from curation.runs.load import LoadedInputs, load_inputs
from curation.runs.objects_execute import objects_load, objects_picked, objects_tag_write
from curation.runs.order import loaded_in_candidate_order
from curation.runs.prepare import PreparedRun, selection_run_prepare
from curation.selection import (
    SelectionCancelled,
    SelectionError,
    SelectionResult,
    select,
    select_sequences,
)
from curation.tags.services import TagError, tag_create

logger = logging.getLogger(__name__)

Status = SelectionRun.Status
ProgressCallback = Callable[[SelectionRun], None]

PROGRESS_WRITE_SECONDS = 0.5
CANCEL_POLL_SECONDS = 0.3


class _RunLost(Exception):
    """The run was finished by someone else (recovered as failed) while this worker ran it."""


class _Monitor:
    """Throttled progress writes + pushes, cancel polling and heartbeats for one running run."""

    def __init__(self, run: SelectionRun, callback: ProgressCallback | None) -> None:
        self.run = run
        self.callback = callback
        self.last_write = time.monotonic()
        self.last_poll = -1e9
        self.cancel_flag = False

    def _write(self, **fields: Any) -> None:
        now = timezone.now()
        updated = SelectionRun.objects.filter(pk=self.run.pk, status=Status.RUNNING).update(
            heartbeat_at=now, **fields
        )
        if not updated:
            raise _RunLost()
        self.run.heartbeat_at = now
        self.last_write = time.monotonic()
        worker_task_beat()  # the worker's own heartbeat, from the task's progress
        run_progress_push(self.run)  # best effort: never raises

    def started(self, candidate_count: int) -> None:
        self.run.candidate_count = candidate_count
        self._write(candidate_count=candidate_count)

    def progress(self, done: int, total: int) -> None:
        run = self.run
        run.picks_done = done
        run.progress = min(1.0, done / total) if total else 1.0
        if run.requested_n is None:
            run.requested_n = total
        if time.monotonic() - self.last_write >= PROGRESS_WRITE_SECONDS or done >= total:
            self._write(
                progress=run.progress, picks_done=run.picks_done, requested_n=run.requested_n
            )
        if self.callback is not None:
            self.callback(run)

    def cancelled(self) -> bool:
        now = time.monotonic()
        if now - self.last_poll < CANCEL_POLL_SECONDS:
            return self.cancel_flag
        self.last_poll = now
        state = (
            SelectionRun.objects.filter(pk=self.run.pk)
            .values_list("status", "cancel_requested")
            .first()
        )
        if state is None or state[0] != Status.RUNNING:
            raise _RunLost()
        self.cancel_flag = bool(state[1])
        if now - self.last_write >= settings.CURATION_WORKER_HEARTBEAT_SECONDS / 3:
            self._write()
        return self.cancel_flag

    def check(self) -> None:
        if self.cancelled():
            raise SelectionCancelled("the selection was cancelled")


def _worker_name() -> str:
    return f"{socket.gethostname()[:150]}-{os.getpid()}"


def selection_run_execute(
    *,
    run_id: int,
    progress: ProgressCallback | None = None,
    prepared: PreparedRun | None = None,
) -> SelectionRun | None:
    """Run a queued run to its end. Returns None when the run was no longer queued (cancelled
    before it started, or already taken), else the finished run. ``prepared``: the start's
    prepare step of this very run (inline execution); else the stored snapshot is prepared."""
    now = timezone.now()
    claimed = SelectionRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=_worker_name()
    )
    if not claimed:
        return None
    run = SelectionRun.objects.select_related("dataset", "created_by").get(pk=run_id)
    run_progress_push(run)
    monitor = _Monitor(run, progress)
    try:
        loaded, result, timings = _compute(run, monitor, prepared)
        _write_result(run, loaded, result, timings)
    except _RunLost:
        logger.warning("Selection run %s was finished elsewhere while it ran", run_id)
    except SelectionCancelled:
        finish(
            run_id,
            Status.CANCELLED,
            message=f"Cancelled after {run.picks_done} picks; no tag was written.",
        )
    except KeyboardInterrupt:
        finish(run_id, Status.CANCELLED, message="Interrupted; no tag was written.")
        raise
    except (SelectionError, SelectionRunError) as exc:
        finish(run_id, Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("Selection run %s failed", run_id)
        finish(
            run_id,
            Status.FAILED,
            error=f"The selection stopped on an unexpected error ({type(exc).__name__}); "
            "the worker log has the details. Re-run it, or report the problem if it repeats.",
        )
        raise
    run.refresh_from_db()
    return run


def _prepare(run: SelectionRun) -> PreparedRun:
    """The run's stored snapshot, prepared as its start prepared it (option tags by name)."""
    options = run.options or {}
    return selection_run_prepare(
        dataset=run.dataset,
        config=run.config,
        user=run.created_by,
        candidate_filter=run.candidate_filter,
        mask_tag=options.get("mask_tag"),
        preselected_tag=options.get("preselected_tag"),
    )


def _compute(
    run: SelectionRun, monitor: _Monitor, prepared: PreparedRun | None
) -> tuple[LoadedInputs, SelectionResult, dict[str, Any]]:
    t0 = time.perf_counter()
    if prepared is None or prepared.dataset.pk != run.dataset_id:
        prepared = _prepare(run)
    monitor.check()
    t_resolved = time.perf_counter()
    if prepared.resolved.objects is not None:  # object-level: one row per box (runs.objects)
        loaded = objects_load(prepared, monitor.check)
    else:
        loaded = load_inputs(
            dataset=prepared.dataset,
            config=prepared.config,
            resolved=prepared.resolved,
            candidates=prepared.candidates,
            mask_tag=prepared.mask,
            preselected_tag=prepared.preselected,
            check=monitor.check,
        )
    loaded = loaded_in_candidate_order(prepared, loaded)  # text=: best match first
    n = len(loaded.sample_ids)
    if n == 0:
        why = "has a vector in the embedding space" if loaded.n_without_vectors else "matches"
        raise SelectionRunError(
            f"candidate_filter: no candidate {why}; nothing to select from.",
            path="candidate_filter",
        )
    monitor.started(_counts(loaded)["candidates"])
    t_loaded = time.perf_counter()
    knn = (run.options or {}).get("knn")  # typicality's k-NN mode (runs.services)
    if loaded.frames is not None:  # selected_sequence_length > 1: whole runs of frames
        result = select_sequences(
            prepared.engine_config,
            loaded.data,
            *loaded.frames,
            progress=monitor.progress,
            cancel=monitor.cancelled,
            knn=knn,
        )
    else:
        result = select(
            prepared.engine_config,
            loaded.data,
            progress=monitor.progress,
            cancel=monitor.cancelled,
            knn=knn,
        )
    t_engine = time.perf_counter()
    timings = {
        "validate_s": t_resolved - t0,
        **loaded.timings,
        "engine_s": t_engine - t_loaded,
        "engine": result.timings,
        "t0": t0,
    }
    return loaded, result, timings


def _counts(loaded: LoadedInputs) -> dict[str, int]:
    """The loaded candidates counted as ``selection_defaults.candidate_counts`` counts them
    (masked rows are loaded but are no candidates; a masked pre-selected one is masked)."""
    data = loaded.data
    n = len(loaded.sample_ids)
    masked = int(data.masked.sum()) if data.masked is not None else 0
    pre = 0
    if data.preselected is not None:
        keep = data.preselected if data.masked is None else data.preselected & ~data.masked
        pre = int(keep.sum())
    return {"candidates": n - masked, "masked": masked, "preselected": pre}


def _messages(loaded: LoadedInputs, result: SelectionResult) -> list[str]:
    notes = list(loaded.notes)
    if loaded.n_without_vectors:
        notes.append(
            f"{loaded.n_without_vectors} candidate(s) without an embedding vector were excluded."
        )
    notes += [m[0].upper() + m[1:] + ("" if m.endswith(".") else ".") for m in result.messages]
    return notes


def _write_result(
    run: SelectionRun,
    loaded: LoadedInputs,
    result: SelectionResult,
    timings: dict[str, Any],
) -> None:
    picked_rows = np.asarray(result.indices, dtype=np.int64)
    pick_ids = [int(i) for i in loaded.sample_ids[picked_rows]]
    object_ids = objects_picked(loaded, picked_rows)
    rows = result.explanation_rows()
    for row in rows:
        row["sample_id"] = pick_ids[row["rank"]]
        if object_ids is not None:
            row["annotation_id"] = object_ids[row["rank"]]
        del row["index"]
    if object_ids is not None:  # the run's pick order is that of the images
        pick_ids = list(dict.fromkeys(pick_ids))
    t_write0 = time.perf_counter()
    t0 = timings.pop("t0")
    try:
        with transaction.atomic():
            locked = SelectionRun.objects.select_for_update().get(pk=run.pk)
            if locked.status != Status.RUNNING:
                raise _RunLost()
            if locked.cancel_requested:
                raise SelectionCancelled("the selection was cancelled")
            tag = tag_create(
                dataset=run.dataset,
                name=run.result_tag_name,
                sample_ids=pick_ids,
                kind=Tag.Kind.SELECTION,
                created_by=run.created_by,
                description=f"Selection run {run.pk}",
                verified=True,
            )
            if object_ids is not None:
                objects_tag_write(run, tag, object_ids)
            t_write = time.perf_counter()
            run.status = Status.SUCCEEDED
            run.result_tag = tag
            run.selected_count = len(pick_ids)
            run.requested_n = result.n_requested
            counts = _counts(loaded)
            run.candidate_count = counts.pop("candidates")
            run.options = {**(run.options or {}), "counts": counts}
            run.picks_done = len(pick_ids)
            run.progress = 1.0
            run.stopped_by = result.stopped_by
            run.message = "\n".join(_messages(loaded, result))
            run.pick_order = pick_ids
            run.explanation = {"labels": result.strategy_labels, "picks": rows}
            run.finished_at = timezone.now()
            run.heartbeat_at = run.finished_at
            run.timings = {**timings, "write_s": t_write - t_write0, "total_s": t_write - t0}
            run.save()
            run_progress_push(run)
    except (IntegrityError, TagError):
        if Tag.objects.filter(dataset=run.dataset, name=run.result_tag_name).exists():
            error = (
                f"A tag named {run.result_tag_name!r} was created while this selection ran; "
                "re-run it with another name."
            )
        else:
            error = "Samples were deleted while this selection ran; re-run it."
        finish(run.pk, Status.FAILED, error=error)


def finish(
    run_id: int,
    status: str,
    *,
    message: str = "",
    error: str = "",
    expect: str = Status.RUNNING,
) -> bool:
    """Move a run from ``expect`` to a final ``status`` (writing nothing else); push it."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "finished_at": now}
    if message:
        fields["message"] = message
    if error:
        fields["error"] = error
    updated = SelectionRun.objects.filter(pk=run_id, status=expect).update(**fields)
    if updated:
        run_progress_push(SelectionRun.objects.get(pk=run_id))
    return bool(updated)
