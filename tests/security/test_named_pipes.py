"""A named pipe (FIFO) inside an import folder must not hang the worker (issue 10: "no stuck
worker"): reading one blocks until someone writes to it, so imports skip or refuse anything that
is not a regular file or folder. Each import runs in a thread with a deadline, so a regression
fails the test instead of hanging it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from curation.imports.services import IngestError, dataset_import
from curation.models import Annotation, Sample

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX only")
DEADLINE = 60


def run_with_deadline(**kwargs):
    """``dataset_import(**kwargs)``: its summary, or the IngestError it raised."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["summary"] = dataset_import(embed="never", workers=1, **kwargs)
        except IngestError as exc:
            outcome["error"] = exc
        except BaseException as exc:  # reported below
            outcome["crash"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), "the import hung on a named pipe"
    assert "crash" not in outcome, outcome.get("crash")
    return outcome


@pytest.fixture
def folder(tmp_path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(images / "real.png")
    os.mkfifo(images / "pipe.png")
    return images


@pytest.mark.django_db(transaction=True)
def test_a_pipe_named_like_an_image_is_refused_by_the_scan(dataset, folder):
    outcome = run_with_deadline(dataset=dataset, images=folder)
    summary = outcome["summary"]
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["real.png"]
    assert ("pipe.png", "not a regular file") in summary.images_failed


@pytest.mark.django_db(transaction=True)
def test_a_pipe_given_as_a_side_file_is_refused(dataset, folder, tmp_path):
    os.mkfifo(tmp_path / "metadata.csv")
    outcome = run_with_deadline(dataset=dataset, metadata=tmp_path / "metadata.csv")
    assert str(outcome["error"]) == (
        f"{tmp_path / 'metadata.csv'} is not a regular file or folder: check the path."
    )
    assert Sample.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_pipe_among_yolo_labels_is_refused(dataset, folder, tmp_path):
    yolo = tmp_path / "yolo"
    (yolo / "labels").mkdir(parents=True)
    (yolo / "data.yaml").write_text("names: [cat]\n")
    (yolo / "labels" / "real.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    os.mkfifo(yolo / "labels" / "zz.txt")
    outcome = run_with_deadline(dataset=dataset, images=folder, annotations=yolo)
    assert str(outcome["error"]) == "zz.txt in yolo is not a regular file."
    assert Sample.objects.count() == 0 and Annotation.objects.count() == 0
