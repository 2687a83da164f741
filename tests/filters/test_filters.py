import pytest
from django.http import QueryDict

from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Annotation, AnnotationTask, Sample
from curation.tags.services import tag_create


@pytest.fixture
def samples(dataset):
    rows = [
        ("a/cat1.png", 100, 80, {"lightly.sharpness": 10.0, "weather.description": "sunny", "night": False, "camera": 3}),  # noqa: E501
        ("a/cat2.png", 640, 480, {"lightly.sharpness": 55.5, "weather.description": "rain", "night": True, "camera": "3"}),  # noqa: E501
        ("b/dog1.png", 1024, 768, {"lightly.sharpness": 120.0, "weather.description": "sunny"}),
        ("b/dog2.png", 50, 50, {}),
    ]  # fmt: skip
    created = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f, width=w, height=h, metadata=m) for f, w, h, m in rows]
    )
    return {s.file_name: s for s in created}


def names(qs) -> set[str]:
    return set(qs.values_list("file_name", flat=True))


def test_empty_filter_is_everything(dataset, samples):
    f = SampleFilter.parse("")
    assert f.is_empty and f.describe() == "all samples"
    assert names(filter_samples(dataset, f)) == set(samples)


def test_tags_include_any_and_exclude_all(dataset, samples):
    tag_create(
        dataset=dataset,
        name="train",
        sample_ids=[samples["a/cat1.png"].pk, samples["b/dog1.png"].pk],
    )
    tag_create(dataset=dataset, name="val", sample_ids=[samples["a/cat2.png"].pk])
    tag_create(dataset=dataset, name="masked", sample_ids=[samples["b/dog1.png"].pk])
    assert names(filter_samples(dataset, SampleFilter.parse("tag=train&tag=val"))) == {
        "a/cat1.png", "b/dog1.png", "a/cat2.png",
    }  # fmt: skip
    assert names(filter_samples(dataset, SampleFilter.parse("tag=train&exclude_tag=masked"))) == {
        "a/cat1.png"
    }


def test_unknown_tag_is_a_clear_error(dataset, samples):
    with pytest.raises(FilterError, match="No tag named 'nope' in dataset 'cats'"):
        filter_samples(dataset, SampleFilter.parse("tag=nope"))


def test_labels_by_task(dataset, samples):
    gt = AnnotationTask.objects.create(dataset=dataset, name="ground_truth", kind="classification")
    pred = AnnotationTask.objects.create(dataset=dataset, name="model", kind="classification")
    Annotation.objects.create(sample=samples["a/cat1.png"], task=gt, label="cat")
    Annotation.objects.create(sample=samples["a/cat2.png"], task=pred, label="cat")
    Annotation.objects.create(sample=samples["b/dog1.png"], task=gt, label="dog")
    assert names(filter_samples(dataset, SampleFilter.parse("label=cat"))) == {
        "a/cat1.png",
        "a/cat2.png",
    }
    assert names(filter_samples(dataset, SampleFilter.parse("label=cat&task=ground_truth"))) == {
        "a/cat1.png"
    }
    assert names(filter_samples(dataset, SampleFilter.parse("task=model"))) == {"a/cat2.png"}


def test_numeric_metadata_ranges_and_sizes(dataset, samples):
    f = SampleFilter.parse("min:lightly.sharpness=50&max:lightly.sharpness=200&width_max=800")
    assert names(filter_samples(dataset, f)) == {"a/cat2.png"}
    assert f.describe() == "width <= 800, 50 <= lightly.sharpness <= 200"


def test_string_boolean_and_number_metadata_values(dataset, samples):
    sunny = SampleFilter.parse("meta:weather.description=sunny")
    assert names(filter_samples(dataset, sunny)) == {"a/cat1.png", "b/dog1.png"}
    assert names(filter_samples(dataset, SampleFilter.parse("meta:night=true"))) == {"a/cat2.png"}
    # a number matches stored numbers and stored strings that spell it
    assert names(filter_samples(dataset, SampleFilter.parse("meta:camera=3"))) == {
        "a/cat1.png", "a/cat2.png",
    }  # fmt: skip


def test_file_name_search_is_case_insensitive(dataset, samples):
    assert names(filter_samples(dataset, SampleFilter.parse("q=DOG"))) == {
        "b/dog1.png",
        "b/dog2.png",
    }


def test_round_trip_through_querystring_querydict_and_snapshot(dataset, samples):
    text = "tag=t1&exclude_tag=m&label=cat&task=gt&q=x&width_min=5&min:a.b=1.5&max:a.b=3&meta:k=v"
    f = SampleFilter.parse(text)
    assert SampleFilter.parse(f.to_querystring()) == f
    assert SampleFilter.parse(QueryDict(text)) == f
    assert SampleFilter.parse(f.to_dict()) == f
    assert "min:a.b=1.5" in f.to_querystring()


def test_pagination_parameters_are_not_filters():
    assert SampleFilter.parse("after=12&page=3").is_empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=red", "Unknown filter parameter 'colour'"),
        ("width_min=wide", "width_min='wide' must be a whole number"),
        ("min:lightly.sharpness=high", "must be a number"),
        ("min:x=nan", "must be a finite number"),
        ("min:=3", "needs a metadata key"),
        ("meta:a__b=3", "needs a metadata key"),
    ],
)
def test_bad_filters_name_the_parameter(text, message):
    with pytest.raises(FilterError, match=message):
        SampleFilter.parse(text)
