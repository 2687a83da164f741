"""The sample browser: grid, filter sidebar, counts, keyset pages, fragments, access."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import Sample


def url(dataset, query=""):
    base = reverse("dataset-browser", args=[dataset.pk])
    return f"{base}?{query}" if query else base


def test_it_shows_the_grid_count_and_sidebar(client, alice, dataset, samples, train_tag):
    client.force_login(alice)
    response = client.get(url(dataset))
    text = response.content.decode()
    assert response.status_code == 200 and "<html" in text
    assert "<strong>12</strong> samples" in text
    assert text.count('class="pick"') == 12
    assert 'name="tag" value="train"' in text
    assert 'name="min:lightly.sharpness"' in text
    assert 'name="meta:split" value="train"' in text
    assert "/facets/histogram/?key=lightly.sharpness" in text  # exact, loaded by the panel
    assert 'name="label" value="dog"' in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=train", 4),
        ("exclude_tag=train", 8),
        ("label=dog&task=ground_truth", 6),
        ("q=CAT", 6),
        ("width_min=60", 6),
        ("min:lightly.sharpness=50&max:lightly.sharpness=80", 4),
        ("meta:split=test", 4),
        ("meta:night=true", 3),
    ],
)
def test_it_filters_by_the_url(client, alice, dataset, samples, train_tag, query, expected):
    client.force_login(alice)
    text = client.get(url(dataset, query)).content.decode()
    assert f"<strong>{expected}</strong> sample" in text
    assert text.count('class="pick"') == expected


def test_htmx_filter_request_gets_the_results_fragment_and_canonical_url(
    client, alice, dataset, samples
):
    client.force_login(alice)
    response = client.get(
        url(dataset, "q=dog&width_min=&min:lightly.sharpness="),
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    text = response.content.decode()
    assert "<html" not in text and 'id="results"' in text and 'id="filter-form"' not in text
    assert "<strong>6</strong> samples" in text
    assert response["HX-Push-Url"] == url(dataset, "q=dog")


def test_form_without_javascript_is_redirected_to_the_canonical_url(
    client, alice, dataset, samples
):
    client.force_login(alice)
    response = client.get(url(dataset, "q=dog&width_min=&tag="))
    assert response.status_code == 302
    assert response["Location"] == url(dataset, "q=dog")


def test_keyset_pages_and_infinite_scroll_fragment(client, alice, dataset, samples, settings):
    settings.CURATION_BROWSE_PAGE_SIZE = 5
    client.force_login(alice)
    ids = sorted(s.pk for s in samples)
    from curation.browse.selectors import result_page
    from curation.filters import SampleFilter

    first = result_page(dataset, SampleFilter(), size=5)
    assert [s.pk for s in first.samples] == ids[:5] and first.next_after == ids[4]
    last = result_page(dataset, SampleFilter(), after=ids[9], size=5)
    assert [s.pk for s in last.samples] == ids[10:] and last.next_after is None
    response = client.get(
        url(dataset, f"after={ids[9]}"), headers={"HX-Request": "true", "HX-Target": "more"}
    )
    text = response.content.decode()
    assert 'id="results"' not in text and "<html" not in text
    assert f'value="{ids[10]}"' in text and f'value="{ids[9]}"' not in text


def test_full_page_link_to_the_next_samples(client, alice, dataset, samples, settings):
    settings.CURATION_BROWSE_PAGE_SIZE = 5
    client.force_login(alice)
    ids = sorted(s.pk for s in samples)
    text = client.get(url(dataset)).content.decode()
    assert f"after={ids[4]}" in text and 'hx-trigger="revealed"' in text
    text = client.get(url(dataset, f"after={ids[4]}")).content.decode()
    assert f'value="{ids[5]}"' in text and f'value="{ids[0]}"' not in text
    assert "First samples" in text


def test_bad_filter_is_explained(client, alice, dataset, samples):
    client.force_login(alice)
    response = client.get(url(dataset, "tag=nope"))
    assert response.status_code == 400  # the page renders, the results say why
    assert "No tag named &#x27;nope&#x27;" in response.content.decode()
    response = client.get(url(dataset, "min:lightly.sharpness=abc"))
    assert response.status_code == 400
    assert "must be a number" in response.content.decode()


def test_box_filter_on_the_map(client, alice, dataset, samples, space):
    from curation.browse.projections import projection_compute

    projection = projection_compute(space=space)
    inside = [
        i
        for i, x, y in zip(projection["ids"], projection["x"], projection["y"], strict=True)
        if x <= 5000 and y <= 5000
    ]
    client.force_login(alice)
    text = client.get(url(dataset, "box:default=0,0,0.5,0.5")).content.decode()
    assert f"<strong>{len(inside)}</strong> sample" in text
    for pk in inside:
        assert f'value="{pk}"' in text


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_access_levels(client, request, dataset, samples, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(dataset)).status_code == status


def test_anonymous_is_sent_to_login(client, dataset):
    response = client.get(url(dataset))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_query_count_does_not_grow_with_samples(
    client, alice, dataset, samples, train_tag, django_assert_max_num_queries
):
    client.force_login(alice)
    client.get(url(dataset))  # warm the metadata cache
    Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"more_{i}.png", metadata={}) for i in range(50)]
    )
    with django_assert_max_num_queries(12):
        response = client.get(url(dataset, "tag=train&min:lightly.sharpness=0"))
    assert response.status_code == 200
