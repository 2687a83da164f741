"""The admin dataset list: exact per-dataset counts without a samples x tags x runs join."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from curation.models import Dataset, Sample, SelectionRun, Tag, TagSample


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("root", password="root-password")


def _row(text: str, name: str) -> list[str]:
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*>{name}</a>(?:(?!</tr>).)*</tr>", text, re.S)
    assert row, name
    return re.findall(r'<td class="field-(\w+_count)[^"]*">(\d+)</td>', row.group(0))


def test_counts_are_exact_and_not_multiplied(client, admin_user, alice, dataset, private_dataset):
    samples = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(7)]
    )
    for name in ("a", "b"):
        tag = Tag.objects.create(dataset=dataset, name=name)
        TagSample.objects.bulk_create([TagSample(tag=tag, sample=s) for s in samples])
    for i in range(3):
        SelectionRun.objects.create(dataset=dataset, config={}, result_tag_name=f"r{i}")
    Sample.objects.filter(pk=samples[0].pk).delete()
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        text = client.get(reverse("admin:curation_dataset_changelist")).content.decode()
    assert _row(text, "cats") == [("sample_count", "6"), ("tag_count", "2"), ("run_count", "3")]
    assert _row(text, "alice-private") == [
        ("sample_count", "0"),
        ("tag_count", "0"),
        ("run_count", "0"),
    ]
    listing = [q["sql"] for q in queries.captured_queries if "curation_datasetcounts" in q["sql"]]
    assert listing and all("COUNT(DISTINCT" not in sql.upper() for sql in listing)
    assert Dataset.objects.count() == 2


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_non_staff_cannot_list(client, request, dataset, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("admin:curation_dataset_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
