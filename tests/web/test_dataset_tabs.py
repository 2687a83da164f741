"""Every dataset page shows the same tab bar (``curation/dataset_tabs.html``) with its own tab
marked ``aria-current="page"``. The pages are walked from the URL resolver, so a new dataset page
that forgets the tabs fails here."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from curation.models import SelectionRun, StrategyPreset, Tag
from curation.runs.services import selection_run_start
from tests.support.objects import TASK, object_space, populate_objects

NAV = re.compile(r'<nav class="tabs" aria-label="Dataset">(.*?)</nav>', re.S)
LINK = re.compile(r"<a ([^>]*)>([^<]*)</a>")

# The page (URL name) -> the tab it marks current ("" for none).
CURRENT = {
    "dataset-browser": "Samples",
    "sample-detail": "Samples",
    "tag-list": "Tags",
    "tag-detail": "Tags",
    "tag-delete": "Tags",
    "object-grid": "Objects",
    "embedding-map": "Embedding map",
    "dataset-embeddings": "Embeddings",
    "run-history": "Runs",
    "run-detail": "Runs",
    "run-results": "Runs",
    "selection-dialog": "Runs",
    "builder": "Strategy builder",
    "dataset-selection-defaults": "Selection defaults",
    "dataset-import": "",
    "dataset-delete": "Delete…",
    "video-list": "",  # "Videos" is a tab only when the dataset has videos; this one has none
}
TABS = [
    "Samples",
    "Tags",
    "Objects",
    "Embedding map",
    "Embeddings",
    "Runs",
    "Strategy builder",
    "Selection defaults",
]


def _pages(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace or str(entry.pattern).startswith("api/"):
                continue
            yield from _pages(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern)


@pytest.fixture
def world(alice, dataset, samples, space):
    tag = Tag.objects.create(dataset=dataset, name="picked", created_by=alice)
    tag.samples.add(*samples[:2])
    run = SelectionRun.objects.create(
        dataset=dataset, config={}, result_tag_name="picked", result_tag=tag, status="succeeded"
    )
    return {
        "dataset_id": dataset.pk,
        "sample_id": samples[0].pk,
        "tag_id": tag.pk,
        "run_id": run.pk,
    }


def _tabs(html: str) -> tuple[list[str], list[str]]:
    """(tab labels, labels marked current) of the page's one dataset tab bar."""
    navs = NAV.findall(html)
    assert len(navs) == 1, "exactly one dataset tab bar"
    links = LINK.findall(navs[0])
    return [label for _, label in links], [
        label for attrs, label in links if 'aria-current="page"' in attrs
    ]


def test_every_dataset_page_has_the_same_tabs(client, alice, dataset, world):
    client.force_login(alice)
    seen = {}
    for name, pattern in _pages(get_resolver().url_patterns):
        params = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
        if "dataset_id" not in params and "run_id" not in params:
            continue
        if any(p not in world for p in params):
            continue  # pages of objects this world does not hold (e.g. a video)
        response = client.get(reverse(name, kwargs={p: world[p] for p in params}))
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue  # POST-only actions, media, JSON
        html = b"".join(response).decode() if response.streaming else response.content.decode()
        if "<html" not in html:
            continue  # fragments
        labels, current = _tabs(html)
        assert labels == [*TABS, "Delete…"], name
        assert current == ([CURRENT[name]] if CURRENT.get(name) else []), name
        seen[name] = labels
    assert set(seen) == set(CURRENT), "every dataset page was walked"


@pytest.mark.parametrize(("who", "delete"), [("alice", True), ("bob", False), ("staff", True)])
def test_the_delete_tab_is_for_who_may_delete(client, request, dataset, world, who, delete):
    client.force_login(request.getfixturevalue(who))
    for name in ("tag-list", "run-detail"):
        kwargs = {"run_id": world["run_id"]} if name == "run-detail" else {"dataset_id": dataset.pk}
        labels, _ = _tabs(client.get(reverse(name, kwargs=kwargs)).content.decode())
        assert labels == TABS + (["Delete…"] if delete else [])


def test_an_outsider_sees_no_tabs(client, charlie, dataset, world):
    client.force_login(charlie)
    response = client.get(reverse("tag-list", args=[dataset.pk]))
    assert response.status_code == 404
    assert not NAV.search(response.content.decode())


def test_the_map_tab_keeps_the_filter_of_the_samples_page(client, alice, dataset, world):
    client.force_login(alice)
    html = client.get(reverse("dataset-browser", args=[dataset.pk]) + "?q=cat").content.decode()
    assert f'href="{reverse("embedding-map", args=[dataset.pk])}?q=cat"' in NAV.search(html)[1]


def test_a_preset_edited_without_a_dataset_has_no_tabs(client, alice, world):
    preset = StrategyPreset.objects.create(name="p", owner=alice, config={"n_samples": 2})
    client.force_login(alice)
    html = client.get(reverse("preset-edit", args=[preset.pk])).content.decode()
    assert "<html" in html and not NAV.search(html)


def test_the_objects_page_of_an_object_level_run_has_the_tabs(client, alice, dataset):
    _ids, task, ann_ids = populate_objects(dataset, images=6, per_image=2)
    object_space(dataset, task, ann_ids)
    strategy = {"input": {"type": "EMBEDDINGS", "task": TASK}, "strategy": {"type": "DIVERSITY"}}
    run = selection_run_start(
        dataset=dataset,
        config={"n_samples": 4, "strategies": [strategy]},
        result_tag_name="picked",
        user=alice,
        execute="inline",
    )
    client.force_login(alice)
    response = client.get(reverse("run-result-objects", args=[run.pk]))
    assert response.status_code == 200
    assert _tabs(response.content.decode()) == ([*TABS, "Delete…"], ["Runs"])
