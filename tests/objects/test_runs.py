"""Object-level runs: n counts objects, rows are boxes, the pick order equals the engine run on
the object matrix, masks / pre-selection through the parent image, per-object inputs, errors."""

from __future__ import annotations

import pytest

from curation.models import Annotation, EmbeddingSpace, SelectionRun, Tag, TagAnnotation
from curation.runs.services import SelectionRunError, selection_run_start
from curation.selection import ArrayData, parse_config, select
from tests.support.objects import TASK, object_space, populate_objects, write_pixels
from tests.support.selection import tag_named


def _config(*strategies, n=5):
    return {"n_samples": n, "strategies": list(strategies)}


DIV = {"input": {"type": "EMBEDDINGS", "task": TASK}, "strategy": {"type": "DIVERSITY"}}


@pytest.fixture
def objects(dataset):
    ids, task, ann_ids = populate_objects(dataset, images=12, per_image=3)
    matrix = object_space(dataset, task, ann_ids)
    return ids, task, ann_ids, matrix


def _run(dataset, alice, config, name="picked", **kw):
    return selection_run_start(
        dataset=dataset, config=config, result_tag_name=name, user=alice, execute="inline", **kw
    )


def _picked_objects(dataset, name="picked"):
    tag = Tag.objects.get(dataset=dataset, name=f"{name}-objects")
    return list(
        TagAnnotation.objects.filter(tag=tag)
        .order_by("rank")
        .values_list("annotation_id", flat=True)
    )


def test_object_diversity_picks_as_the_engine_on_the_object_matrix(dataset, alice, objects):
    _ids, _, ann_ids, matrix = objects
    config = _config(
        DIV,
        {"input": {"type": "EMBEDDINGS", "task": TASK}, "strategy": {"type": "TYPICALITY"}},
        n=7,
    )
    run = _run(dataset, alice, config)
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    engine = select(parse_config(config), ArrayData(embeddings={f"objects:{TASK}": matrix}))
    expected = [ann_ids[i] for i in engine.indices]
    assert _picked_objects(dataset) == expected
    objects_tag = Tag.objects.get(dataset=dataset, name="picked-objects")
    images_tag = Tag.objects.get(dataset=dataset, name="picked")
    assert objects_tag.kind == Tag.Kind.OBJECTS and objects_tag.linked == images_tag
    parents = list(dict.fromkeys(Annotation.objects.get(pk=a).sample_id for a in expected))
    assert run.pick_order == parents
    assert set(images_tag.samples.values_list("pk", flat=True)) == set(parents)
    assert run.selected_count == len(parents)
    assert run.options["objects"]["count"] == 7
    assert [p["annotation_id"] for p in run.explanation["picks"]] == expected


def test_masks_and_preselection_apply_through_the_parent_image(dataset, alice, objects):
    ids, _, _ann_ids, _ = objects
    tag_named(dataset, "mask", ids[:6])
    tag_named(dataset, "pre", ids[6:7])
    run = _run(dataset, alice, _config(DIV, n=8), mask_tag="mask", preselected_tag="pre")
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    picked = _picked_objects(dataset)
    parents = [Annotation.objects.get(pk=a).sample_id for a in picked]
    assert not set(parents) & set(ids[:6])
    first = list(
        Annotation.objects.filter(sample_id=ids[6]).order_by("pk").values_list("pk", flat=True)
    )
    assert picked[: len(first)] == first and len(picked) == 8


def test_an_objects_tag_preselects_exactly_its_objects(dataset, alice, objects):
    ann_ids = objects[2]
    _run(dataset, alice, _config(DIV, n=3), name="first")
    first = _picked_objects(dataset, "first")
    run = _run(dataset, alice, _config(DIV, n=5), name="second", preselected_tag="first-objects")
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert _picked_objects(dataset, "second")[:3] == first
    assert len(ann_ids) > 5


def test_object_thresholds_weights_and_balance(dataset, alice, objects):
    ann_ids = objects[2]
    config = _config(
        DIV,
        {
            "input": {"type": "METADATA", "key": "object.area"},
            "strategy": {"type": "THRESHOLD", "threshold": 60, "operation": "BIGGER"},
        },
        {
            "input": {"type": "SCORES", "task": TASK, "score": "confidence"},
            "strategy": {"type": "WEIGHTS"},
        },
        {
            "input": {"type": "PREDICTIONS", "task": TASK, "name": "CLASS_DISTRIBUTION"},
            "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
        },
        {
            "input": {"type": "METADATA", "key": "weather.description"},
            "strategy": {"type": "BALANCE", "target": {"sunny": 1.0}},
        },
        n=6,
    )
    run = _run(dataset, alice, config)
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    picked = Annotation.objects.filter(pk__in=_picked_objects(dataset))
    assert len(picked) == 6 and all(a.w * a.h > 60 for a in picked)
    assert len(ann_ids) > 6


def test_a_mix_of_tasks_names_the_json_path(dataset, alice, objects):
    config = _config(
        DIV,
        {
            "input": {"type": "SCORES", "task": "other", "score": "x"},
            "strategy": {"type": "WEIGHTS"},
        },
    )
    with pytest.raises(SelectionRunError) as caught:
        _run(dataset, alice, config)
    assert str(caught.value) == (
        f"strategies[1].input.task: strategies[0] selects objects of task {TASK!r}; a config "
        "cannot mix tasks ('other' here)"
    )
    assert SelectionRun.objects.count() == 0 and not Tag.objects.exists()


def test_unknown_task_and_unknown_score_are_refused(dataset, alice, objects):
    config = _config(
        {"input": {"type": "EMBEDDINGS", "task": "nope"}, "strategy": {"type": "DIVERSITY"}}
    )
    with pytest.raises(SelectionRunError) as caught:
        _run(dataset, alice, config)
    assert str(caught.value) == (
        f"strategies[0].input.task: dataset 'cats' has no task 'nope' (known: {TASK})."
    )
    config = _config(
        DIV,
        {
            "input": {"type": "SCORES", "task": TASK, "score": "bogus"},
            "strategy": {"type": "WEIGHTS"},
        },
    )
    with pytest.raises(SelectionRunError) as caught:
        _run(dataset, alice, config)
    assert str(caught.value).startswith("strategies[1].input.score: per-object scores are ")


def test_the_objects_tag_name_must_be_free(dataset, alice, objects):
    Tag.objects.create(dataset=dataset, name="picked-objects")
    with pytest.raises(SelectionRunError) as caught:
        _run(dataset, alice, _config(DIV))
    assert "a tag named 'picked-objects' already exists" in str(caught.value)


def test_object_similarity_to_an_objects_tag(dataset, alice, objects):
    ann_ids = objects[2]
    _run(dataset, alice, _config(DIV, n=2), name="q")
    config = _config(
        {
            "input": {"type": "EMBEDDINGS", "task": TASK, "tag_name": "q-objects"},
            "strategy": {"type": "SIMILARITY"},
        },
        n=2,
    )
    run = _run(dataset, alice, config, name="similar")
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert set(_picked_objects(dataset, "similar")) == set(_picked_objects(dataset, "q"))
    assert len(ann_ids) > 2


def test_without_an_object_space_the_run_computes_the_crops(dataset, alice, tmp_path):
    populate_objects(dataset, images=4, per_image=2)
    write_pixels(tmp_path, dataset)
    dataset.image_root = str(tmp_path)
    dataset.save()
    run = _run(dataset, alice, _config(DIV, n=3))
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert len(_picked_objects(dataset)) == 3
    assert EmbeddingSpace.all_spaces.get(dataset=dataset).name == f"crops:{TASK}"


def test_without_pixels_or_vectors_the_run_fails_readably(dataset, alice):
    populate_objects(dataset, images=3, per_image=1)
    run = _run(dataset, alice, _config(DIV, n=2))
    assert run.status == SelectionRun.Status.FAILED
    assert run.error == (
        f"object embeddings: task {TASK!r}: no box could be cropped (no readable image, or every "
        "box is smaller than 1 pixels)."
    )
    assert not Tag.objects.exists()
