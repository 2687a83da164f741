"""Reading results against a live ``manage.py serve``: thumbnail grids (``_repr_html_``) of a
query and of a run, tags / annotations read a page at a time, and cancelling a running run or
job from the client."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import curation.client as cur
from curation.client import SampleField, queries
from tests.support.client import LiveServer, embeddings_for, make_images

THUMBNAIL = re.compile(r'<img src="http://127\.0\.0\.1:\d+/media/samples/(\d+)/thumbnail/"')
BIG = 40_000  # samples of the cancel tests' dataset: long enough runs to cancel mid-way


def thumbnail_ids(html: str) -> list[int]:
    return [int(i) for i in THUMBNAIL.findall(html)]


def record_paths(connection: cur.Connection) -> list[str]:
    """``path?query`` of every request ``connection`` sends from now on."""
    sent: list[str] = []

    def hook(request: httpx.Request) -> None:
        sent.append(f"{request.url.path}?{request.url.query.decode()}")

    connection.http.event_hooks["request"] = [hook]
    return sent


@pytest.fixture
def small(alice: cur.Connection, unique: str, tmp_path: Path) -> cur.ImageDataset:
    """12 uploaded images with embeddings; ``sharpness`` = the image's index."""
    dataset = cur.ImageDataset.create(unique)
    names = make_images(tmp_path / "images", 12)
    dataset.add_embeddings(
        embeddings_for(names), names, embedding_model_name="clip", create_samples=True,
        show_progress=False,
    )  # fmt: skip
    dataset.add_images_from_path(tmp_path / "images", show_progress=False)
    dataset.add_metadata({n: {"sharpness": float(i)} for i, n in enumerate(names)})
    return dataset


def test_a_query_renders_its_thumbnails_in_id_order(
    live: LiveServer, small: cur.ImageDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = small.query().to_list()
    html = small.query()._repr_html_()
    assert html.startswith(f"<p>12 samples of {small.name}</p>")
    assert thumbnail_ids(html) == [s.id for s in samples]
    for sample in samples:
        assert f">{sample.file_name}</figcaption>" in html
    assert thumbnail_ids(small[3:6]._repr_html_()) == [s.id for s in samples[3:6]]
    wide = small.match(SampleField.width >= 56)
    assert thumbnail_ids(wide._repr_html_()) == [s.id for s in samples if (s.width or 0) >= 56]
    assert small._repr_html_() == html
    monkeypatch.setattr(queries, "REPR_HTML_LIMIT", 5)
    capped = small.query()._repr_html_()
    assert capped.startswith(f"<p>12 samples of {small.name}</p>")
    assert thumbnail_ids(capped) == [s.id for s in samples[:5]]
    assert capped.endswith("<p>… and 7 more</p>")
    # The images' URL is the web app's thumbnail view (it asks a browser to sign in first).
    url = THUMBNAIL.search(html)
    assert url is not None
    answer = httpx.get(url.group(0)[len('<img src="') : -1], follow_redirects=False)
    assert answer.status_code == 302 and "login" in answer.headers["location"]


def test_a_run_renders_its_picks_in_pick_order(small: cur.ImageDataset) -> None:
    run = small.query().selection().metadata_weighting(
        n_samples_to_select=4, selection_result_tag_name="sharp4", metadata_key="sharpness",
        show_progress=False,
    )  # fmt: skip
    by_id = {s.id: s for s in small.query()}
    assert [by_id[i].metadata["sharpness"] for i in run.picks] == [11.0, 10.0, 9.0, 8.0]
    html = run._repr_html_()
    assert html.startswith(f"<p>Run {run.id}: succeeded, tag 'sharp4'</p>")
    assert thumbnail_ids(html) == run.picks != sorted(run.picks)  # pick order, not id order
    assert [s.id for s in run.samples()] == run.picks


def test_tags_and_annotations_are_read_a_page_at_a_time(
    alice: cur.Connection,
    small: cur.ImageDataset,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small[:3].add_tag("first")
    small[2:7].add_tag("middle")
    names = [s.file_name for s in small.query()]
    coco = tmp_path / "gt.json"
    coco.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": names[4], "width": 32, "height": 24}],
                "categories": [{"id": 1, "name": "cat"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]}],
            }
        )
    )
    small.add_annotations_coco(coco, show_progress=False)
    monkeypatch.setattr(queries, "PAGE_SIZE", 5)  # 12 samples: pages of 5, 5 and 2
    sent = record_paths(alice)
    samples = small.query().to_list()
    assert len(sent) == 3
    tags = [sorted(s.tags) for s in samples]
    labels = [[a["label"] for a in s.annotations] for s in samples]
    scores = [s.scores for s in samples]
    assert len(sent) == 6  # one more request per page, none per sample
    assert all("expand=tags%2Cannotations%2Cscores" in path for path in sent[3:])
    assert tags == [["first"]] * 2 + [["first", "middle"]] + [["middle"]] * 4 + [[]] * 5
    assert labels == [[]] * 4 + [["cat"]] + [[]] * 7
    assert scores == [[]] * 12
    # Each page's request is the one that fetched it, so a filtered query expands the same way.
    middle = small.match(SampleField.tags.contains("middle")).to_list()
    assert [sorted(s.tags) for s in middle] == [["first", "middle"]] + [["middle"]] * 4
    # A sample changed since its page was read asks for its own details.
    samples[11].add_tag("last")
    before = len(sent)
    assert samples[11].tags == ["last"] and samples[10].tags == []
    assert len(sent) == before + 1  # one detail request; samples[10]'s page was read already
    assert sent[-1].startswith(f"/api/datasets/{small.id}/samples/{samples[11].id}/")


# ---------------------------------------------------------------------------- cancelling


@pytest.fixture(scope="module")
def big(live: LiveServer) -> Iterator[cur.ImageDataset]:
    """``BIG`` samples without pixels and 32-d embeddings (one embeddings upload)."""
    connection = cur.Connection(live.url, live.tokens["alice"])  # not the default: kept open
    dataset = cur.ImageDataset.create(f"big-{time.monotonic_ns()}", connection=connection)
    names = [f"s{i:06d}.jpg" for i in range(BIG)]
    matrix = np.random.default_rng(7).normal(size=(BIG, 32)).astype(np.float32)
    dataset.add_embeddings(
        matrix, names, embedding_model_name="clip", create_samples=True, show_progress=False
    )
    yield dataset
    dataset.delete()
    connection.close()


def wait_until(predicate, what: str, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_run_cancel_stops_a_running_run_and_writes_no_tag(
    alice: cur.Connection, big: cur.ImageDataset
) -> None:
    run = (
        big.query()
        .selection()
        .diverse(n_samples_to_select=BIG // 2, selection_result_tag_name="half", wait=False)
    )
    wait_until(
        lambda: run.refresh()["status"] == "running" and run.data.get("picks_done", 0) > 0,
        "the run to pick",
    )
    run.cancel()
    with pytest.raises(cur.RunFailedError) as failed:
        run.wait(show_progress=False)
    assert failed.value.status_text == "cancelled" and run.status == "cancelled"
    assert 0 < int(run.data["picks_done"]) < BIG // 2
    assert "half" not in big.tags()
    assert run._repr_html_() == f"<p>Run {run.id}: cancelled, tag 'half'</p>"
    with pytest.raises(cur.BadRequestError, match="nothing to cancel"):
        run.cancel()


def test_job_cancel_stops_a_running_computation_and_changes_nothing(
    alice: cur.Connection, big: cur.ImageDataset
) -> None:
    accepted = alice.post(
        f"datasets/{big.id}/metadata/typicality/",
        json={"metadata_name": "typ", "num_nearest_neighbors": 10},
    )
    job = cur.Job(alice, accepted["job"], "Computing typicality")
    wait_until(lambda: job.status == "running", "the job to start")
    job.cancel()
    with pytest.raises(cur.JobFailedError, match=r"^Cancelled; 'typ' was not changed\.$") as e:
        job.wait(show_progress=False)
    assert e.value.status_text == "cancelled" and job.data["status"] == "cancelled"
    assert len(big.match(SampleField.metadata["typ"] >= 0.0)) == 0
    with pytest.raises(cur.BadRequestError, match="nothing to cancel"):
        job.cancel()
