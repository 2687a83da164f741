"""2D projections of embedding spaces and the box / lasso filters over them."""

from __future__ import annotations

import numpy as np
import pytest

from curation.browse.projections import SCALE, pca_2d, projection_compute
from curation.filter_regions import points_in_polygon
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import EmbeddingSpace, Sample
from curation.storage.embeddings import embedding_space_store


@pytest.fixture
def space(dataset):
    samples = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(40)]
    )
    rng = np.random.default_rng(1)
    # Two clusters far apart along one direction.
    matrix = rng.normal(scale=0.05, size=(40, 16)).astype(np.float32)
    matrix[:20, 0] += 5
    matrix[20:, 0] -= 5
    return embedding_space_store(
        dataset=dataset,
        name="default",
        matrix=matrix,
        sample_ids=np.array([s.pk for s in samples]),
        normalize=False,
    ), samples


def test_pca_finds_the_main_direction():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(500, 10))
    matrix[:, 3] *= 20
    points = pca_2d(matrix)
    assert points.shape == (500, 2)
    assert abs(np.corrcoef(points[:, 0], matrix[:, 3])[0, 1]) > 0.99


def test_projection_is_cached_compactly_and_scaled(space):
    space, samples = space
    projection = projection_compute(space=space)
    stored = EmbeddingSpace.objects.get(pk=space.pk).projection
    assert stored == projection and projection["ids"] == [s.pk for s in samples]
    assert min(projection["x"]) == 0 and max(max(projection["x"]), max(projection["y"])) == SCALE
    left = {i for i, x in zip(projection["ids"], projection["x"], strict=True) if x < SCALE / 2}
    assert left in ({s.pk for s in samples[:20]}, {s.pk for s in samples[20:]})


def test_box_and_lasso_filters_select_a_cluster(dataset, space):
    space, _ = space
    projection = projection_compute(space=space)
    left = sorted(i for i, x in zip(projection["ids"], projection["x"], strict=True) if x < 5000)
    box = SampleFilter.parse("box:default=0,0,0.5,1")
    assert sorted(filter_samples(dataset, box).values_list("pk", flat=True)) == left
    lasso = SampleFilter.parse("lasso:default=0,0,0.5,0,0.5,1,0,1")
    assert sorted(filter_samples(dataset, lasso).values_list("pk", flat=True)) == left
    assert SampleFilter.parse(box.to_querystring()) == box
    assert "box selection on the default map" in box.describe()


def test_region_filter_errors(dataset, space):
    with pytest.raises(FilterError, match="four numbers"):
        SampleFilter.parse("box:default=0,0,1")
    with pytest.raises(FilterError, match="three x,y points"):
        SampleFilter.parse("lasso:default=0,0,1,1")
    with pytest.raises(FilterError, match="not available yet"):
        list(filter_samples(dataset, SampleFilter.parse("box:default=0,0,1,1")))


def test_points_in_polygon_even_odd():
    x = np.array([0.2, 0.8, 1.5, 0.1])
    y = np.array([0.2, 0.8, 0.5, 0.7])
    triangle = (0, 0, 1, 0, 0, 1)
    assert points_in_polygon(x, y, triangle).tolist() == [True, False, False, True]


def test_new_vectors_reset_the_map(dataset, space):
    space, samples = space
    projection_compute(space=space)
    embedding_space_store(
        dataset=dataset,
        name="default",
        matrix=np.ones((40, 16), np.float32),
        sample_ids=np.array([s.pk for s in samples]),
    )
    assert EmbeddingSpace.objects.get(pk=space.pk).projection is None
