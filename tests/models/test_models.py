import pytest
from django.db import IntegrityError, transaction

from curation.models import Dataset, Sample, Tag, TagSample
from curation.tags.services import TagError, tag_create


def test_duplicate_tag_name_in_a_dataset_is_rejected(dataset):
    Tag.objects.create(dataset=dataset, name="train")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(dataset=dataset, name="train")
    assert Tag.objects.filter(dataset=dataset, name="train").count() == 1


def test_same_tag_name_in_two_datasets_is_fine(dataset, private_dataset):
    Tag.objects.create(dataset=dataset, name="train")
    Tag.objects.create(dataset=private_dataset, name="train")
    assert Tag.objects.filter(name="train").count() == 2


def test_duplicate_file_name_in_a_dataset_is_rejected(dataset):
    Sample.objects.create(dataset=dataset, file_name="a/1.png")
    with pytest.raises(IntegrityError), transaction.atomic():
        Sample.objects.create(dataset=dataset, file_name="a/1.png")
    assert dataset.samples.count() == 1


def test_duplicate_dataset_name_is_rejected(alice, dataset):
    with pytest.raises(IntegrityError), transaction.atomic():
        Dataset.objects.create(name=dataset.name, owner=alice)


def test_a_sample_is_in_a_tag_once(dataset):
    sample = Sample.objects.create(dataset=dataset, file_name="1.png")
    tag = Tag.objects.create(dataset=dataset, name="t")
    TagSample.objects.create(tag=tag, sample=sample)
    with pytest.raises(IntegrityError), transaction.atomic():
        TagSample.objects.create(tag=tag, sample=sample)


def test_tag_create_bulk_inserts_members(dataset, alice):
    samples = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(5)]
    )
    tag = tag_create(
        dataset=dataset,
        name="first-three",
        sample_ids=[s.pk for s in samples[:3]],
        created_by=alice,
    )
    assert set(tag.samples.values_list("file_name", flat=True)) == {"0.png", "1.png", "2.png"}
    assert tag.created_by == alice


def test_tag_create_refuses_a_taken_name_and_writes_nothing(dataset):
    sample = Sample.objects.create(dataset=dataset, file_name="1.png")
    tag_create(dataset=dataset, name="keep", sample_ids=[])
    with pytest.raises(TagError, match="already exists"):
        tag_create(dataset=dataset, name="keep", sample_ids=[sample.pk])
    assert TagSample.objects.count() == 0


def test_tag_create_refuses_samples_of_another_dataset(dataset, private_dataset):
    foreign = Sample.objects.create(dataset=private_dataset, file_name="x.png")
    with pytest.raises(TagError, match="do not belong"):
        tag_create(dataset=dataset, name="t", sample_ids=[foreign.pk])
    assert not Tag.objects.filter(name="t").exists()


def test_a_dataset_is_shared_only_with_a_team_of_its_owner(alice, charlie, team):
    from curation.datasets.services import DatasetError, dataset_create

    assert dataset_create(name="mine", owner=alice, team=team).team == team
    with pytest.raises(DatasetError, match="not a member of team 'vision-team'"):
        dataset_create(name="theirs", owner=charlie, team=team)
    assert not Dataset.objects.filter(name="theirs").exists()
