"""The one export helper (``tag_export_download``) and the one format registry
(``curation.formats.export.FORMATS``) as pages, API and CLI see them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from curation.formats.export import FORMAT_NAMES, FORMATS
from curation.management.commands.export_tag import Command
from curation.tags.export import ExportError, tag_export, tag_export_download

UNKNOWN = (
    "Unknown export format 'pdf': use one of filenames, csv, coco, yolo, lightly-csv, "
    "objects-csv, object-crops, video_frames."
)


# the objects formats export objects tags (tests/objects/test_exports.py), video_frames the
# frames of videos (tests/tags/test_video_frames_export.py)
@pytest.mark.parametrize(
    "name", [n for n in FORMAT_NAMES if not FORMATS[n].objects and not FORMATS[n].frames]
)
def test_every_format_downloads_as_one_file(dataset, loaded, name):
    spec = FORMATS[name]
    download = tag_export_download(dataset=dataset, tag=loaded, format=name, filename_stem="x")
    with download.handle:
        data = download.handle.read()
        assert not Path(download.handle.name).parent.exists()  # the temporary folder is gone
    assert (download.filename, download.content_type) == (f"x.{spec.extension}", spec.content_type)
    assert download.summary.samples == 3 and data
    if spec.folder:
        assert "data.yaml" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_an_unknown_format_names_the_known_ones(dataset, loaded, tmp_path):
    with pytest.raises(ExportError) as caught:
        tag_export(dataset=dataset, tag=loaded, format="pdf", output=tmp_path / "o")
    assert str(caught.value) == UNKNOWN
    assert not (tmp_path / "o").exists()


def test_the_command_lists_the_formats_of_the_registry():
    text = Command().create_parser("manage.py", "export_tag").format_help()
    assert all(name in text for name in FORMAT_NAMES)


class TestTagPage:
    def url(self, tag, query=""):
        return reverse("tag-export", args=[tag.dataset_id, tag.pk]) + query

    def test_it_offers_every_format(self, client, alice, loaded):
        client.force_login(alice)
        html = client.get(reverse("tag-detail", args=[loaded.dataset_id, loaded.pk])).content
        for spec in FORMATS.values():
            assert f'value="{spec.name}"'.encode() in html and spec.label.encode() in html

    @pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
    def test_it_downloads_a_folder_format_as_a_zip(
        self,
        client,
        request,
        dataset,
        loaded,
        who,
        status,
    ):
        client.force_login(request.getfixturevalue(who))
        response = client.get(self.url(loaded, "?format=yolo"))
        assert response.status_code == status
        if status == 200:
            assert response["Content-Type"] == "application/zip"
            assert f'filename="{dataset.name}-picked.zip"' in response["Content-Disposition"]
            body = b"".join(response.streaming_content)
            assert "data.yaml" in zipfile.ZipFile(io.BytesIO(body)).namelist()

    def test_an_unknown_format_is_a_message(self, client, alice, loaded):
        client.force_login(alice)
        response = client.get(self.url(loaded, "?format=pdf"))
        assert response.status_code == 302
        assert [str(m) for m in get_messages(response.wsgi_request)] == [UNKNOWN]
