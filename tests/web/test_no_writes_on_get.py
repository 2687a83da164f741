"""No writes on GET: every page and API URL, fetched with GET by the dataset's owner, sends no
INSERT, UPDATE or DELETE to the database (recovery and maps are the workers' and writers' job).

The URL list is walked from the resolver, so a new URL is covered without editing this file;
a URL whose parameters this test cannot fill fails the test instead of being skipped.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from curation.models import EmbeddingSpace, Job, SavedView, SelectionRun, StrategyPreset, Tag
from curation.storage.embeddings import embedding_space_store
from curation.tokens.services import api_token_create
from tests.support.video_rows import video_with_frames

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
NOT_PAGES = {"logout", "api-schema", "api-docs", "api-redoc"}  # POST-only or third-party views


def _named_patterns(patterns: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver) and entry.namespace:
            continue  # the admin: Django's own views, staff only
        if isinstance(entry, URLResolver):
            found += _named_patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((entry.name, prefix + str(entry.pattern)))
    return found


@pytest.fixture
def world(alice, dataset, samples, space):
    """One of each object a URL can name, all alice's."""
    tag = Tag.objects.create(dataset=dataset, name="picked", created_by=alice)
    run = SelectionRun.objects.create(
        dataset=dataset, config={}, result_tag_name="picked", result_tag=tag, status="succeeded"
    )
    job = Job.objects.create(dataset=dataset, dataset_name=dataset.name, created_by=alice)
    preset = StrategyPreset.objects.create(name="p", owner=alice, config={"n_samples": 2})
    token = api_token_create(user=alice, name="t")[0]
    other = embedding_space_store(
        dataset=dataset,
        name="unmapped",  # stored without a map: its pages must still only read
        matrix=np.ones((len(samples), 2), np.float32),
        sample_ids=np.array([s.pk for s in samples]),
    )
    video, frames = video_with_frames(dataset, "clip.mp4", frames=3)
    tag.samples.add(frames[1])  # a mark on the video page's timeline
    return {
        "video_id": video.pk,
        "dataset_id": dataset.pk,
        "sample_id": samples[0].pk,
        "tag_id": tag.pk,
        "run_id": run.pk,
        "job_id": job.pk,
        "preset_id": preset.pk,
        "token_id": token.pk,
        "space_id": other.pk,
        "key": "0" * 32,  # an upload session that does not exist: 404, no write
        "annotation_id": samples[0].annotations.filter(x__isnull=False).first().pk,  # a box
        "view_id": SavedView.objects.create(dataset=dataset, owner=alice, name="v", query="q=a").pk,
    }


def test_no_get_writes(client, alice, world):
    client.force_login(alice)
    urls = []
    for name, pattern in _named_patterns(get_resolver().url_patterns):
        if name in NOT_PAGES:
            continue
        params = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
        missing = [p for p in params if p not in world]
        assert not missing, f"{name}: this test cannot fill {missing}; add them to world"
        urls.append((name, reverse(name, kwargs={p: world[p] for p in params})))
    assert len(urls) > 60
    for suffix in ("", "?space=unmapped", "?space=unmapped&q=a"):
        for name, url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url + suffix)
            writes = [q["sql"][:80] for q in queries.captured_queries if WRITE.match(q["sql"])]
            assert not writes, f"GET {url + suffix} ({name}) wrote: {writes}"
            assert response.status_code != 500, f"GET {url + suffix} ({name})"
    assert EmbeddingSpace.objects.get(pk=world["space_id"]).projection is None
