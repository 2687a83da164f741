"""The sample modal over the grid (``?sample=ID``): rendered with the page (reload keeps it),
alone for htmx requests that target ``#modal-root``, previous / next within the filter (also in
a ``similar_to=`` order), close back to the grid's URL; owner, team member, outsider."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from curation.browse.similarity import similarity_clear_caches
from curation.models import Sample

MODAL = {"HX-Request": "true", "HX-Target": "modal-root"}


def browser(dataset, query=""):
    return reverse("dataset-browser", args=[dataset.pk]) + (f"?{query}" if query else "")


def link(html: str, element_id: str) -> str | None:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.django_db
class TestModal:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_a_reload_renders_the_grid_with_the_modal(self, client, dataset, samples, who, request):
        client.force_login(request.getfixturevalue(who))
        text = client.get(browser(dataset, f"q=dog&sample={samples[8].pk}")).content.decode()
        assert "<html" in text and 'id="grid"' in text
        modal = text.split('<div id="modal-root">', 1)[1]
        assert 'role="dialog" aria-modal="true"' in modal and "dog_08.png" in modal
        assert link(modal, "modal-prev") == browser(dataset, f"q=dog&sample={samples[7].pk}")
        assert link(modal, "modal-next") == browser(dataset, f"q=dog&sample={samples[9].pk}")
        assert link(modal, "modal-close") == browser(dataset, "q=dog")
        assert 'id="sample-tags"' in modal and "Annotations and predictions" in modal
        assert 'class="boxes"' in modal and ">dog</text>" in modal  # large image with boxes
        assert "Keyboard shortcuts" in modal and 'aria-keyshortcuts="ArrowLeft"' in modal
        full_page = reverse("sample-detail", args=[dataset.pk, samples[8].pk])
        assert f'href="{full_page}?q=dog"' in modal  # the full page keeps its URL

    def test_htmx_gets_only_the_modal_and_an_empty_one_to_close(
        self, client, alice, dataset, samples
    ):
        client.force_login(alice)
        response = client.get(browser(dataset, f"sample={samples[0].pk}"), headers=MODAL)
        text = response.content.decode()
        assert text.lstrip().startswith('<div class="modal-backdrop" id="sample-modal"')
        assert "<html" not in text and 'id="grid"' not in text
        assert link(text, "modal-prev") is None  # the first sample
        assert link(text, "modal-next") == browser(dataset, f"sample={samples[1].pk}")
        closed = client.get(browser(dataset), headers=MODAL)
        assert closed.status_code == 200 and closed.content == b""

    def test_the_display_state_rides_along(self, client, alice, dataset, samples):
        client.force_login(alice)
        text = client.get(browser(dataset, f"boxes=detector&sample={samples[2].pk}"), headers=MODAL)
        assert link(text.content.decode(), "modal-close") == browser(dataset, "boxes=detector")

    def test_the_order_of_find_similar_is_kept(self, client, alice, dataset, samples, space):
        similarity_clear_caches()
        client.force_login(alice)
        grid = client.get(browser(dataset, f"similar_to={samples[5].pk}")).content.decode()
        order = [int(i) for i in re.findall(r'class="pick" name="sample" value="(\d+)"', grid)]
        query = f"similar_to={samples[5].pk}"
        text = client.get(browser(dataset, f"{query}&sample={order[3]}"), headers=MODAL)
        html = text.content.decode()
        assert link(html, "modal-prev") == browser(dataset, f"{query}&sample={order[2]}")
        assert link(html, "modal-next") == browser(dataset, f"{query}&sample={order[4]}")

    def test_a_sample_of_another_dataset_or_garbage_opens_nothing(
        self, client, alice, dataset, samples, outsider_dataset
    ):
        client.force_login(alice)
        secret = Sample.objects.get(dataset=outsider_dataset)
        for value in (str(secret.pk), "abc", "9" * 30):
            response = client.get(browser(dataset, f"sample={value}"))
            assert (
                response.status_code == 200 and 'id="sample-modal"' not in response.content.decode()
            )

    def test_an_outsider_gets_404(self, client, charlie, dataset, samples):
        client.force_login(charlie)
        assert (
            client.get(browser(dataset, f"sample={samples[0].pk}"), headers=MODAL).status_code
            == 404
        )

    def test_the_thumbnails_open_the_modal_with_htmx(self, client, alice, dataset, samples):
        client.force_login(alice)
        text = client.get(browser(dataset, "q=cat")).content.decode()
        assert (
            f'hx-get="{browser(dataset)}?q=cat&amp;sample={samples[0].pk}" hx-target="#modal-root"'
            in text
        )
        assert "curation/browse-modal.js" in text
