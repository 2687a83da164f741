"""Every config block of seeds 001 and 004, pasted as written: the lenient parser reads it and
``parse_config`` accepts it; pasting into the builder and ``select --config`` work too."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from curation.builder.rows import state_from_config
from curation.builder.validation import validate_state
from curation.formats.config_text import config_from_text
from curation.models import Annotation, AnnotationTask, Sample, SelectionRun, Tag
from curation.runs.services import SelectionRunError, selection_run_start
from curation.selection import ConfigError, parse_config
from tests.support.objects import object_space
from tests.support.seeds import is_object_level, pasteable, seed_blocks
from tests.support.selection import populate, runs_and_tags, tag_ids, tag_named

BLOCKS = seed_blocks()
IDS = [title for title, _ in BLOCKS]


def test_the_blocks_file_holds_every_block_of_both_seeds():
    assert len(BLOCKS) == 23
    assert sum(title.startswith("001 ") for title in IDS) == 13
    commented = [title for title, text in BLOCKS if "#" in text or "//" in text]
    assert len(commented) >= 15  # the docs' comments are really there


@pytest.mark.parametrize(("title", "text"), BLOCKS, ids=IDS)
def test_each_seed_block_parses_and_validates(title, text):
    config = config_from_text(pasteable(title, text))
    parsed = parse_config(config)
    assert parsed.strategies  # and the builder shows it as rows without an error
    if is_object_level(title):
        assert parsed.object_task == "my_object_detections"
    rebuilt, errors = validate_state(state_from_config(config))
    assert errors == {}
    assert parse_config(rebuilt) == parsed


def test_seed_strengths_and_distributions_are_read_where_the_docs_put_them():
    by_title = dict(BLOCKS)
    video = parse_config(
        config_from_text(pasteable("v", by_title["001 Video Metadata Balancing with Strength"]))
    )
    assert [s.strength for s in video.strategies] == [1e9, 1.0]
    assert video.strategies[0].target == (("video-a", 0.5), ("video-b", 0.5))
    uniform = parse_config(config_from_text(pasteable("u", by_title["004 Balance UNIFORM"])))
    assert uniform.strategies[0].distribution == "UNIFORM"


# ----------------------------------------------------------------------- dataset_id


@pytest.mark.parametrize("value", [7, "7", "cats"])
def test_dataset_id_may_be_an_integer_or_a_string(value):
    config = {
        "n_samples": 1,
        "strategies": [
            {
                "input": {"type": "EMBEDDINGS", "dataset_id": value, "tag_name": "q"},
                "strategy": {"type": "SIMILARITY"},
            }
        ],
    }
    spec = parse_config(config).strategies[0].input
    assert spec.dataset == str(value) and spec.dataset_key == "dataset_id"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "strategies[0].input.dataset_id: a dataset id must be >= 1"),
        (True, "strategies[0].input.dataset_id: must be a dataset name or id"),
        ("", "strategies[0].input.dataset_id: must be a dataset name or id"),
    ],
)
def test_a_bad_dataset_id_names_the_key_as_written(value, message):
    config = {
        "n_samples": 1,
        "strategies": [
            {
                "input": {"type": "EMBEDDINGS", "dataset_id": value, "tag_name": "q"},
                "strategy": {"type": "SIMILARITY"},
            }
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    assert str(caught.value).startswith(message)


def test_an_unknown_query_dataset_id_names_dataset_id(dataset, alice):
    populate(dataset, n=10)
    tag_named(dataset, "query", [])
    text = pasteable("001 Similarity Search", dict(BLOCKS)["001 Similarity Search"])
    config = config_from_text(text.replace('"dataset_id": 1', '"dataset_id": 999'))
    with pytest.raises(SelectionRunError) as caught:
        selection_run_start(dataset=dataset, config=config, result_tag_name="x", user=alice)
    assert str(caught.value) == "strategies[0].input.dataset_id: no dataset named '999'."
    assert runs_and_tags(dataset) == (0, 0)


@pytest.mark.parametrize("as_string", [False, True])
def test_the_similarity_seed_runs_with_the_query_dataset_id(dataset, alice, as_string):
    ids = populate(dataset, n=20)
    tag_named(dataset, "query", ids[:2])
    text = pasteable(
        "001 Similarity Search",
        dict(BLOCKS)["001 Similarity Search"],
        query_dataset_id=dataset.pk,
    ).replace('"n_samples": 100', '"n_samples": 3')
    if as_string:
        text = text.replace(f'"dataset_id": {dataset.pk}', f'"dataset_id": "{dataset.pk}"')
    run = selection_run_start(
        dataset=dataset,
        config=config_from_text(text),
        result_tag_name="similar",
        user=alice,
        execute="inline",
    )
    assert run.status == SelectionRun.Status.SUCCEEDED and run.selected_count == 3
    assert tag_ids(dataset, "query") <= tag_ids(dataset, "similar")  # distance 0 ranks first


# ----------------------------------------------------------------------- builder (HTTP)

DOCS_PASTE = """{
    "n_samples": 4, # set to the number of samples you want to select
    "strategies": [
        {
            "input": {"type": "EMBEDDINGS"},
            "strategy": {"type": "DIVERSITY"},
            "strength": 2.0
        },
        // and a metadata balance, distribution given
        {
            "input": {"type": "METADATA", "key": "weather.description",},
            "strategy": {"type": "BALANCE", "distribution": "TARGET", "target": {"sunny": 0.5,},},
        },
    ],
}"""


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_pasting_a_docs_config_into_the_builder_loads_the_rows(client, request, dataset, who):
    populate(dataset, n=12)
    client.force_login(request.getfixturevalue(who))
    form = {"rows": "1", "count_mode": "n", "n_samples": "20", "action": "load_json"}
    form["config_json"] = DOCS_PASTE
    response = client.post(reverse("builder", args=[dataset.pk]), form)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="rows" value="2"' in html and "Valid config" in html
    assert 'name="s0-strength" id="s0-strength" value="2"' in html
    assert 'name="s1-distribution_given" value="1"' in html
    # the JSON the builder writes: strength inside the strategy, distribution kept
    start = html.index('id="config-json"')
    text = html[html.index(">", start) + 1 : html.index("</textarea>", start)]
    written = json.loads(text.replace("&quot;", '"'))
    assert written["strategies"][0]["strategy"] == {"type": "DIVERSITY", "strength": 2}
    assert "strength" not in written["strategies"][0]
    assert written["strategies"][1]["strategy"]["distribution"] == "TARGET"


def test_a_builder_paste_with_a_syntax_error_names_line_and_column(client, alice, dataset):
    client.force_login(alice)
    form = {"rows": "1", "count_mode": "n", "n_samples": "20", "action": "load_json"}
    form["config_json"] = DOCS_PASTE.replace('"strength": 2.0', '"strength" 2.0')
    html = client.post(reverse("builder", args=[dataset.pk]), form).content.decode()
    assert (
        "The pasted text is not valid JSON: unexpected &#x27;2&#x27; at line 7, column 24." in html
    )


def test_outsiders_cannot_paste_into_the_builder(client, charlie, dataset):
    client.force_login(charlie)
    form = {"rows": "1", "action": "load_json", "config_json": DOCS_PASTE}
    assert client.post(reverse("builder", args=[dataset.pk]), form).status_code == 404


# ----------------------------------------------------------------------- CLI --config


def test_select_reads_a_config_file_with_comments_and_trailing_commas(dataset, alice, tmp_path):
    populate(dataset, n=12)
    path = tmp_path / "docs.json"
    path.write_text("\ufeff" + DOCS_PASTE, encoding="utf-8")  # a BOM, as some editors write
    call_command("select", "cats", "--config", str(path), "--tag", "picked")
    run = SelectionRun.objects.get()
    assert run.status == SelectionRun.Status.SUCCEEDED and run.selected_count == 4
    assert Tag.objects.filter(dataset=dataset, name="picked").exists()


def test_select_names_line_and_column_of_a_syntax_error(dataset, alice, tmp_path):
    populate(dataset, n=12)
    path = tmp_path / "bad.json"
    path.write_text('{\n  "n_samples": 4, # four\n  "strategies": [}\n', encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("select", "cats", "--config", str(path), "--tag", "picked")
    assert str(caught.value) == (
        f"The config {path} is not valid JSON: unexpected '}}' at line 3, column 18."
    )
    assert runs_and_tags(dataset) == (0, 0)


# ----------------------------------------------------------------------- every seed runs

PRETAG_CLASSES = ["car", "bicycle", "bus", "motorcycle", "person", "train", "truck"]


@pytest.fixture
def seed_dataset(dataset):
    """A dataset with every input the seed blocks name (placeholders filled as in ``seeds``)."""
    ids = populate(dataset, n=150, dim=8)
    rng = np.random.default_rng(3)
    samples = list(Sample.objects.filter(dataset=dataset).order_by("pk"))
    for i, sample in enumerate(samples):
        sample.metadata["lightly.uniformRowRatio"] = float(rng.uniform(0, 0.05))
        sample.metadata["video_name"] = "video-a" if i % 2 else "video-b"
    Sample.objects.bulk_update(samples, ["metadata"])
    task = AnnotationTask.objects.create(
        dataset=dataset, name="lightly_pretagging", kind="detection", categories=PRETAG_CLASSES
    )
    Annotation.objects.bulk_create(
        [
            Annotation(sample_id=pk, task=task, label=PRETAG_CLASSES[(i * 3 + j) % 7])
            for i, pk in enumerate(ids)
            for j in range(1 + i % 3)
        ]
    )
    tag_named(dataset, "query", ids[:3])
    # Object Diversity / Object Typicality: boxes of a detection task with object embeddings
    objects = AnnotationTask.objects.create(
        dataset=dataset, name="my_object_detections", kind="detection", categories=PRETAG_CLASSES
    )
    Annotation.objects.bulk_create(
        [
            Annotation(sample_id=pk, task=objects, label=PRETAG_CLASSES[j], x=j, y=j, w=5, h=4)
            for pk in ids
            for j in range(2)
        ]
    )
    boxes = Annotation.objects.filter(task=objects).order_by("pk").values_list("pk", flat=True)
    object_space(dataset, objects, list(boxes), dim=8)
    return dataset


@pytest.mark.parametrize(("title", "text"), BLOCKS, ids=IDS)
def test_each_seed_block_runs_on_a_dataset_with_its_inputs(seed_dataset, alice, title, text):
    config = config_from_text(pasteable(title, text, query_dataset_id=seed_dataset.pk))
    run = selection_run_start(
        dataset=seed_dataset,
        config=config,
        result_tag_name="picked",
        user=alice,
        execute="inline",
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    n = config["n_samples"]
    if is_object_level(title):  # n counts objects; the image tag holds their images
        assert run.options["objects"]["count"] == n
        assert Tag.objects.get(dataset=seed_dataset, name="picked-objects").annotations.count() == n
        assert 1 <= run.selected_count <= n
        return
    assert 1 <= run.selected_count <= n
    assert len(tag_ids(seed_dataset, "picked")) == run.selected_count
    if not any(e["strategy"]["type"] in ("THRESHOLD", "DIVERSITY") for e in config["strategies"]):
        assert run.selected_count == n  # nothing stops these early
