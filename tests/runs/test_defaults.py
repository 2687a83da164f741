"""Seed 000: a Lightly CSV's ``masked`` / ``selected`` columns become the dataset's default mask
and pre-selection; every new selection (CLI, API, dialog) uses them unless overridden, and the
candidate count is the same "N candidates (M masked, K pre-selected)" everywhere."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from curation.filters import SampleFilter
from curation.imports.services import dataset_import
from curation.models import Dataset, Sample, SelectionRun, Tag
from curation.runs.defaults import (
    CandidateCounts,
    candidate_counts,
    dataset_defaults_update,
)
from curation.runs.inputs import candidate_queryset
from curation.runs.services import selection_run_execute, selection_run_start

# The two tables of seed 000, as written (list-table -> CSV).
MASKED_CSV = """filenames,embedding_0,embedding_1,masked,labels
img-1.jpg,0.1,0.5,1,0
img-2.jpg,0.2,0.2,0,0
img-3.jpg,0.1,0.9,0,0
"""
SELECTED_CSV = """filenames,embedding_0,embedding_1,selected,labels
img-1.jpg,0.1,0.5,0,0
img-2.jpg,0.2,0.2,0,0
img-3.jpg,0.1,0.9,1,0
"""


def diversity(n: int) -> dict:
    return {
        "n_samples": n,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }


def _import(dataset: Dataset, tmp_path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    dataset_import(dataset=dataset, embeddings=path, samples_from_embeddings=True, workers=0)


@pytest.fixture
def masked(dataset, tmp_path) -> Dataset:
    """Seed 000's first example: img-1.jpg masked."""
    _import(dataset, tmp_path, MASKED_CSV, "masked_embeddings.csv")
    dataset.refresh_from_db()
    return dataset


@pytest.fixture
def both(masked, tmp_path) -> Dataset:
    """Both examples on one dataset: img-1.jpg masked, img-3.jpg pre-selected."""
    _import(masked, tmp_path, SELECTED_CSV, "selected_embeddings.csv")
    masked.refresh_from_db()
    return masked


def names(run: SelectionRun) -> list[str]:
    by_id = dict(Sample.objects.values_list("pk", "file_name"))
    return [by_id[i] for i in run.pick_order]


def test_the_import_records_the_columns_as_the_datasets_defaults(both):
    assert both.default_mask_tag.name == "masked"
    assert both.default_preselected_tag.name == "selected"
    assert list(both.default_mask_tag.samples.values_list("file_name", flat=True)) == ["img-1.jpg"]
    assert list(both.default_preselected_tag.samples.values_list("file_name", flat=True)) == [
        "img-3.jpg"
    ]


# ----------------------------------------------------------------------- CLI


def test_cli_never_selects_the_masked_sample(masked, tmp_path):
    out = StringIO()
    config = _file(tmp_path, diversity(3))
    call_command("select", "cats", "--config", config, "--tag", "p", stdout=out)
    run = SelectionRun.objects.get()
    assert sorted(names(run)) == ["img-2.jpg", "img-3.jpg"]
    assert run.options["mask_tag"] == "masked" and run.options["defaults"] == ["mask_tag"]
    assert "Selected 2 of 2 candidates (1 masked, 0 pre-selected) into tag 'p'" in out.getvalue()


def test_cli_n1_gives_only_the_preselected_sample(both, tmp_path):
    out = StringIO()
    config = _file(tmp_path, diversity(1))
    call_command("select", "cats", "--config", config, "--tag", "p", stdout=out)
    run = SelectionRun.objects.get()
    assert names(run) == ["img-3.jpg"]
    assert "Selected 1 of 2 candidates (1 masked, 1 pre-selected)" in out.getvalue()


def test_cli_overrides_the_defaults_for_one_run(both, tmp_path):
    config = _file(tmp_path, diversity(3))
    call_command(
        "select", "cats", "--config", config, "--tag", "p", "--no-mask", "--no-preselected"
    )
    run = SelectionRun.objects.get()
    assert sorted(names(run)) == ["img-1.jpg", "img-2.jpg", "img-3.jpg"]
    assert run.options["mask_tag"] is None and run.options["preselected_tag"] is None
    assert run.candidate_count == 3 and run.options["counts"] == {"masked": 0, "preselected": 0}


def _file(tmp_path, config) -> str:
    path = tmp_path / f"config-{config['n_samples']}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------- API


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_api_uses_the_defaults_unless_overridden(api, request, both, who):
    client = api(who)
    response = client.post(
        f"/api/datasets/{both.pk}/runs/", {"config": diversity(1), "result_tag_name": "a"}
    )
    assert response.status_code == 201
    assert response.json()["candidates"] == "2 candidates (1 masked, 1 pre-selected)"
    run = SelectionRun.objects.get(pk=response.json()["id"])
    selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert names(run) == ["img-3.jpg"]
    detail = client.get(f"/api/runs/{run.pk}/").json()
    assert detail["candidate_count"] == 2
    assert detail["candidates"] == "2 candidates (1 masked, 1 pre-selected)"

    response = client.post(
        f"/api/datasets/{both.pk}/runs/",
        {"config": diversity(3), "result_tag_name": "b", "mask_tag": None, "preselected_tag": ""},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["candidates"] == "3 candidates (0 masked, 0 pre-selected)"
    selection_run_execute(run_id=response.json()["id"])
    run = SelectionRun.objects.get(pk=response.json()["id"])
    assert sorted(names(run)) == ["img-1.jpg", "img-2.jpg", "img-3.jpg"]


def test_api_outsiders_cannot_start_a_run(api, both):
    response = api("charlie").post(
        f"/api/datasets/{both.pk}/runs/", {"config": diversity(1), "result_tag_name": "a"}
    )
    assert response.status_code == 404
    assert not SelectionRun.objects.exists()


# ----------------------------------------------------------------------- dialog


def _start_form(**extra):
    form = {
        "action": "start",
        "rows": "1",
        "count_mode": "n",
        "n_samples": "1",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s0-strength": "1.0",
        "result_tag_name": "picked",
        "preset": "",
        "loaded_preset": "",
    }
    form.update(extra)
    return form


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_dialog_prefills_the_defaults_and_says_so(client, request, both, who):
    client.force_login(request.getfixturevalue(who))
    html = client.get(reverse("selection-dialog", args=[both.pk])).content.decode()
    assert '<option value="masked" selected>' in html
    assert '<option value="selected" selected>' in html
    assert "The dataset's default mask is <strong>masked</strong>: pre-filled" in html
    assert "default pre-selection is <strong>selected</strong>: pre-filled" in html
    assert '<strong id="candidate-count">2</strong> candidates' in html
    assert '<span id="candidate-detail">(1 masked, 1 pre-selected)</span>' in html


def test_the_dialog_selects_only_the_preselected_sample_at_n1(client, alice, both):
    client.force_login(alice)
    form = _start_form(mask_tag="masked", preselected_tag="selected")
    response = client.post(reverse("selection-dialog", args=[both.pk]), form)
    run = SelectionRun.objects.get()
    assert response.status_code == 302
    selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert names(run) == ["img-3.jpg"] and run.candidate_count == 2
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "of 2 candidates" in page and "(1 masked, 1 pre-selected)" in page


def test_the_dialog_overrides_with_none(client, alice, masked):
    client.force_login(alice)
    form = _start_form(n_samples="3", mask_tag="", preselected_tag="")
    client.post(reverse("selection-dialog", args=[masked.pk]), form)
    run = SelectionRun.objects.get()
    selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert "img-1.jpg" in names(run) and run.options["mask_tag"] is None


def test_the_dialog_hides_the_dataset_from_outsiders(client, charlie, both):
    client.force_login(charlie)
    assert client.get(reverse("selection-dialog", args=[both.pk])).status_code == 404


# ----------------------------------------------------------------------- counting


def test_one_count_everywhere_filter_minus_masked_plus_preselected_outside(both):
    tags = {t.name: t for t in Tag.objects.filter(dataset=both)}
    img2 = Sample.objects.get(file_name="img-2.jpg")
    only_img2 = Tag.objects.create(dataset=both, name="two")
    only_img2.samples.add(img2)
    sample_filter = SampleFilter.parse({"tag": ["two"]})
    pool = candidate_queryset(both, sample_filter, tags["selected"])
    counts = candidate_counts(pool=pool, mask=tags["masked"], preselected=tags["selected"])
    assert counts == CandidateCounts(candidates=2, masked=0, preselected=1)
    assert counts.describe() == "2 candidates (0 masked, 1 pre-selected)"
    run = selection_run_start(
        dataset=both,
        config=diversity(2),
        result_tag_name="r",
        user=both.owner,
        candidate_filter=sample_filter,
        execute="inline",
    )
    assert run.candidate_count == 2 and run.options["counts"] == {"masked": 0, "preselected": 1}
    assert names(run) == ["img-3.jpg", "img-2.jpg"]


def test_a_masked_preselected_sample_is_masked_not_preselected(both):
    tags = {t.name: t for t in Tag.objects.filter(dataset=both)}
    pool = candidate_queryset(both, SampleFilter(), tags["selected"])
    counts = candidate_counts(pool=pool, mask=tags["selected"], preselected=tags["selected"])
    assert counts == CandidateCounts(candidates=2, masked=1, preselected=0)


def test_everything_masked_is_refused_and_writes_nothing(masked):
    tag = Tag.objects.get(dataset=masked, name="masked")
    tag.samples.add(*Sample.objects.filter(dataset=masked))
    from curation.runs.services import SelectionRunError

    with pytest.raises(SelectionRunError) as caught:
        selection_run_start(
            dataset=masked, config=diversity(1), result_tag_name="r", user=masked.owner
        )
    assert str(caught.value) == (
        "mask_tag: every matching sample is in the mask tag 'masked'; "
        "nothing is left to select from."
    )
    assert not SelectionRun.objects.exists()


# ----------------------------------------------------------------------- the defaults form


def _defaults_url(dataset):
    return reverse("dataset-selection-defaults", args=[dataset.pk])


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owner_and_team_member_see_and_change_the_defaults(client, request, both, who):
    client.force_login(request.getfixturevalue(who))
    html = client.get(_defaults_url(both)).content.decode()
    assert '<option value="masked" selected>' in html
    assert '<option value="selected" selected>' in html
    browser = client.get(reverse("dataset-browser", args=[both.pk])).content.decode()
    assert (
        "Every new selection masks <code>masked</code> and pre-selects <code>selected</code>"
        in (browser)
    )
    response = client.post(
        _defaults_url(both), {"default_mask_tag": "", "default_preselected_tag": "masked"}
    )
    assert response.status_code == 302
    both.refresh_from_db()
    assert both.default_mask_tag is None and both.default_preselected_tag.name == "masked"


def test_outsiders_get_404_and_change_nothing(client, charlie, both):
    client.force_login(charlie)
    assert client.get(_defaults_url(both)).status_code == 404
    response = client.post(_defaults_url(both), {"default_mask_tag": ""})
    assert response.status_code == 404
    both.refresh_from_db()
    assert both.default_mask_tag.name == "masked"


def test_the_form_requires_login(client, both):
    response = client.get(_defaults_url(both))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_an_unknown_tag_is_400_and_changes_nothing(client, alice, both):
    client.force_login(alice)
    response = client.post(
        _defaults_url(both), {"default_mask_tag": "ghost", "default_preselected_tag": ""}
    )
    assert response.status_code == 400
    assert "Choose a tag of dataset &#x27;cats&#x27; (or none)." in response.content.decode()
    both.refresh_from_db()
    assert both.default_mask_tag.name == "masked"
    assert both.default_preselected_tag.name == "selected"


def test_one_tag_cannot_be_both_defaults(both):
    from curation.runs.defaults import DefaultsError

    with pytest.raises(DefaultsError) as caught:
        dataset_defaults_update(dataset=both, mask_tag="masked", preselected_tag="masked")
    assert str(caught.value) == (
        "One tag cannot be both the default mask and the default pre-selection."
    )
    both.refresh_from_db()
    assert both.default_preselected_tag.name == "selected"


def test_deleting_the_default_tag_clears_the_default(both):
    Tag.objects.filter(dataset=both, name="masked").delete()
    both.refresh_from_db()
    assert both.default_mask_tag is None
    run = selection_run_start(
        dataset=both, config=diversity(3), result_tag_name="r", user=both.owner, execute="inline"
    )
    assert run.options["mask_tag"] is None and len(run.pick_order) == 3


# ----------------------------------------------------------------------- the defaults endpoint


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owner_and_team_member_read_and_set_the_defaults_by_api(api, both, who):
    url = f"/api/datasets/{both.pk}/selection-defaults/"
    assert api(who).get(url).json() == {
        "default_mask_tag": "masked",
        "default_preselected_tag": "selected",
    }
    response = api(who).put(
        url, {"default_mask_tag": None, "default_preselected_tag": "masked"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"default_mask_tag": None, "default_preselected_tag": "masked"}
    both.refresh_from_db()
    assert both.default_mask_tag is None and both.default_preselected_tag.name == "masked"


@pytest.mark.parametrize(("who", "code"), [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_read_or_set_the_defaults_by_api(api, both, who, code):
    url = f"/api/datasets/{both.pk}/selection-defaults/"
    assert api(who).get(url).status_code == code
    body = {"default_mask_tag": None, "default_preselected_tag": None}
    assert api(who).put(url, body, format="json").status_code == code
    both.refresh_from_db()
    assert both.default_mask_tag.name == "masked"


def test_an_unknown_tag_by_api_is_400_and_changes_nothing(api, both):
    url = f"/api/datasets/{both.pk}/selection-defaults/"
    response = api("alice").put(
        url, {"default_mask_tag": "ghost", "default_preselected_tag": None}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The default mask must be a tag of dataset 'cats'; there is no tag 'ghost'.",
        "path": "default_mask_tag",
    }
    both.refresh_from_db()
    assert both.default_preselected_tag.name == "selected"
