"""Labels on thumbnails: boxes and chips of the chosen tasks (``boxes=`` in the URL), one stable
colour per class, the sidebar's legend and toggles, one annotation query per page."""

from __future__ import annotations

import re
import zlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from curation.browse.overlays import class_colour
from curation.filters import SampleFilter
from curation.models import Annotation, AnnotationTask, Sample


def browser(dataset, query=""):
    return reverse("dataset-browser", args=[dataset.pk]) + (f"?{query}" if query else "")


def overlay_rects(html: str) -> list[tuple[str, str]]:
    """(label, stroke colour) of every box drawn over a thumbnail."""
    return re.findall(r'<rect class="[\w-]+" [^>]*stroke="([^"]+)"[^>]*data-label="([^"]+)"', html)


def test_a_class_has_one_colour_everywhere():
    crc = zlib.crc32(b"cat")
    assert class_colour("cat") == f"hsl({crc % 360}, 80%, {38 + (crc >> 9) % 3 * 8}%)"
    assert class_colour("cat") == class_colour("cat") != class_colour("dog")


def test_display_state_is_not_a_filter():
    assert SampleFilter.parse("boxes=ground_truth,detector&sample=3").is_empty


@pytest.mark.django_db
class TestGridOverlays:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_ground_truth_boxes_are_drawn_by_default(self, client, dataset, samples, who, request):
        client.force_login(request.getfixturevalue(who))
        text = client.get(browser(dataset)).content.decode()
        rects = overlay_rects(text)
        assert len(rects) == 12
        assert rects.count((class_colour("cat"), "cat")) == 6
        assert rects.count((class_colour("dog"), "dog")) == 6
        assert 'viewBox="0 0 40 30" preserveAspectRatio="xMidYMid meet"' in text
        assert 'x="2.00" y="3.00" width="20.00" height="10.00"' in text
        legend = text.split('class="legend"', 1)[1].split("</ul>", 1)[0]
        assert f'fill="{class_colour("cat")}"></rect></svg> cat' in legend
        assert 'name="boxes" value="ground_truth" checked' in text
        assert 'name="boxes" value="detector" >' in text
        assert 'class="label-chip"' not in text

    def test_a_prediction_task_shows_classification_chips(self, client, alice, dataset, samples):
        client.force_login(alice)
        text = client.get(browser(dataset, "boxes=detector")).content.decode()
        assert overlay_rects(text) == []
        assert text.count('<span class="label-chip" title="detector">') == 12
        assert 'name="boxes" value="detector" checked' in text

    def test_both_tasks_and_none(self, client, alice, dataset, samples):
        client.force_login(alice)
        both = client.get(browser(dataset, "boxes=ground_truth,detector")).content.decode()
        assert len(overlay_rects(both)) == 12 and both.count('class="label-chip"') == 12
        # the sidebar sends boxes=none plus every checked task; none alone draws nothing
        off = client.get(browser(dataset, "boxes=none")).content.decode()
        assert overlay_rects(off) == [] and 'class="label-chip"' not in off
        assert 'class="legend"' not in off

    def test_the_url_keeps_the_choice(self, client, alice, dataset, samples, settings):
        settings.CURATION_BROWSE_PAGE_SIZE = 5
        client.force_login(alice)
        response = client.get(
            browser(dataset, "boxes=none&boxes=detector&q=_"),
            headers={"HX-Request": "true", "HX-Target": "results"},
        )
        assert response["HX-Push-Url"] == browser(dataset, "q=_&boxes=detector")
        assert "?q=_&amp;boxes=detector&amp;after=" in response.content.decode()  # next page
        default = client.get(
            browser(dataset), headers={"HX-Request": "true", "HX-Target": "results"}
        )
        assert default["HX-Push-Url"] == browser(dataset)

    def test_an_outsider_sees_nothing(self, client, charlie, dataset, samples):
        client.force_login(charlie)
        assert client.get(browser(dataset, "boxes=detector")).status_code == 404

    def test_one_annotation_query_per_page(
        self, client, alice, dataset, samples, django_assert_max_num_queries
    ):
        client.force_login(alice)
        url = browser(dataset, "boxes=ground_truth,detector")
        with CaptureQueriesContext(connection) as small:
            client.get(url)
        task = AnnotationTask.objects.get(dataset=dataset, name="ground_truth")
        more = Sample.objects.bulk_create(
            [Sample(dataset=dataset, file_name=f"x{i}.png", width=40, height=30) for i in range(40)]
        )
        Annotation.objects.bulk_create(
            [Annotation(sample=s, task=task, label="dog", x=1, y=1, w=5, h=5) for s in more]
            + [Annotation(sample=s, task=task, label="cat", x=9, y=9, w=5, h=5) for s in more]
        )
        with django_assert_max_num_queries(len(small.captured_queries)):
            text = client.get(url).content.decode()
        assert len(overlay_rects(text)) == 12 + 80
        annotation_table = Annotation._meta.db_table
        reads = [q for q in small.captured_queries if f'FROM "{annotation_table}"' in q["sql"]]
        assert len(reads) == 1


@pytest.mark.django_db
def test_the_sample_page_labels_have_a_fixed_size(client, alice, dataset, samples):
    client.force_login(alice)
    text = client.get(reverse("sample-detail", args=[dataset.pk, samples[7].pk])).content.decode()
    svg = text.split('<svg class="boxes"', 1)[1].split("</svg>", 1)[0]
    assert "viewBox" not in svg  # no scaling: the text keeps the stylesheet's 12px
    assert f'stroke="{class_colour("dog")}"' in svg and ">dog</text>" in svg
    assert 'x="2.500%" y="10.000%" width="25.000%" height="33.333%"' in svg  # an 80 x 30 image


@pytest.mark.django_db
class TestThumbnailSize:
    url = "/browse/thumbnail-size/"

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_is_remembered_per_user(self, client, dataset, samples, alice, who, request):
        client.force_login(request.getfixturevalue(who))
        page = browser(dataset, "q=cat")
        text = client.get(page).content.decode()
        assert 'class="grid size-m"' in text and 'value="m" aria-pressed="true"' in text
        response = client.post(self.url, {"size": "l", "next": page})
        assert response.status_code == 303 and response["Location"] == page
        text = client.get(browser(dataset)).content.decode()
        assert 'class="grid size-l"' in text and 'value="l" aria-pressed="true"' in text
        assert 'value="m" aria-pressed="false"' in text
        if who == "bob":  # another user keeps the default
            client.force_login(alice)
            assert 'class="grid size-m"' in client.get(browser(dataset)).content.decode()

    def test_a_bad_size_or_foreign_next(self, client, alice, dataset, samples):
        client.force_login(alice)
        response = client.post(self.url, {"size": "xxl", "next": "/"})
        assert response.status_code == 400
        assert "Choose a thumbnail size: s, m or l." in response.content.decode()
        response = client.post(self.url, {"size": "s", "next": "https://evil.example/"})
        assert response["Location"] == reverse("dataset-list")
        assert 'class="grid size-s"' in client.get(browser(dataset)).content.decode()

    def test_it_needs_a_sign_in_and_a_post(self, client, alice):
        response = client.post(self.url, {"size": "s"})
        assert response.status_code == 302 and "/login" in response["Location"]
        client.force_login(alice)
        assert client.get(self.url).status_code == 405


@pytest.mark.django_db
def test_a_dataset_without_image_files_shows_placeholder_tiles(client, alice, dataset):
    """Embeddings-only datasets (created through the API) have no image root: no broken images."""
    rows = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"e{i}.jpg") for i in range(3)]
    )
    client.force_login(alice)
    text = client.get(browser(dataset)).content.decode()
    assert text.count('class="no-image"') == 3 and "/thumbnail/" not in text
    assert 'aria-label="e0.jpg (no image file on the server)"' in text
    page = client.get(reverse("sample-detail", args=[dataset.pk, rows[0].pk])).content.decode()
    assert "This dataset has no image files" in page and "/image/" not in page
