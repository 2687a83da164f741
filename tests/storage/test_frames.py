"""The frames store: a frame sample's file is served from it at every access level, and
deleting the dataset removes it."""

from __future__ import annotations

import pytest

from curation.datasets.services import dataset_delete
from curation.imports.services import dataset_import
from curation.models import Sample
from curation.storage.frames import frame_file_name, frames_root, sample_file_path
from tests.support.videos import make_video


@pytest.fixture
def frame(dataset, tmp_path) -> Sample:
    make_video(tmp_path / "in" / "clips" / "a.mp4", frames=10, fps=5)
    dataset_import(dataset=dataset, images=tmp_path / "in", workers=0, embed="never")
    return Sample.objects.get(dataset=dataset, frame_index=5)


def test_frame_file_names_are_documented_ones():
    assert frame_file_name("clips/a.mp4", 42) == "clips/a.mp4/a-000042.jpg"
    assert frame_file_name("b.MOV", 7) == "b.MOV/b-000007.jpg"


@pytest.mark.parametrize(("who", "code"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_the_frame_is_served_from_the_frames_store(client, request, frame, who, code):
    client.force_login(request.getfixturevalue(who))

    response = client.get(f"/media/samples/{frame.pk}/image/")

    assert response.status_code == code
    if code == 200:
        assert b"".join(response.streaming_content) == sample_file_path(frame).read_bytes()
        assert response["Content-Type"] == "image/jpeg"


def test_deleting_the_dataset_removes_its_frames(
    dataset, frame, django_capture_on_commit_callbacks
):
    folder = frames_root(dataset.pk)
    assert (folder / "clips/a.mp4/a-000005.jpg").is_file()

    with django_capture_on_commit_callbacks(execute=True):
        dataset_delete(dataset=dataset)

    assert not folder.exists()
