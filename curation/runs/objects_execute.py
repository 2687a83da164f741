"""The execution side of object-level runs: the task's object space made current (computed from
the crops when missing or stale, inside the run's task, with its cancel checks), the object rows
loaded, and the objects tag written next to the image tag in the run's one transaction."""

from __future__ import annotations

from typing import Any

import numpy as np

from curation.embeddings.objects import ObjectEmbeddingError, object_space_current
from curation.models import SelectionRun, Tag
from curation.runs.inputs import SelectionRunError
from curation.runs.load import Check, LoadedInputs
from curation.runs.objects import ObjectPlan, load_object_inputs
from curation.runs.prepare import PreparedRun
from curation.tags.services import objects_tag_name, tag_create_objects


def objects_load(prepared: PreparedRun, check: Check) -> LoadedInputs:
    plan: ObjectPlan = prepared.resolved.objects
    try:
        space = object_space_current(task=plan.task, name=plan.space_name, check=check)
    except ObjectEmbeddingError as exc:
        raise SelectionRunError(f"object embeddings: {exc}", path="strategies") from None
    return load_object_inputs(
        config=prepared.config,
        resolved=prepared.resolved,
        space=space,
        candidates=prepared.candidates,
        mask_tag=prepared.mask,
        preselected_tag=prepared.preselected,
        check=check,
    )


def objects_picked(loaded: LoadedInputs, rows: np.ndarray) -> list[int] | None:
    """The picked annotation ids in pick order (None for an image-level run)."""
    if loaded.object_ids is None:
        return None
    return [int(i) for i in loaded.object_ids[rows]]


def objects_tag_write(run: SelectionRun, images_tag: Tag, object_ids: list[int]) -> Tag:
    """The objects tag of ``run`` (in the caller's transaction), linked to its image tag; the
    run's options remember it."""
    tag = tag_create_objects(
        dataset=run.dataset,
        name=objects_tag_name(images_tag.name),
        annotation_ids=object_ids,
        linked=images_tag,
        created_by=run.created_by,
        description=f"Objects of selection run {run.pk}",
        verified=True,
    )
    options: dict[str, Any] = dict(run.options or {})
    options["objects"] = {"tag_id": tag.pk, "tag": tag.name, "count": len(object_ids)}
    run.options = options
    return tag
