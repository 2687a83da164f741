import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from curation.access import (
    datasets_visible_to,
    get_dataset_for_user,
    get_preset_for_user,
    get_run_for_user,
)
from curation.models import SelectionRun, StrategyPreset

CONFIG = {
    "n_samples": 1,
    "strategies": [{"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}}],
}


def test_owner_gets_the_dataset(alice, dataset):
    assert get_dataset_for_user(alice, dataset.pk) == dataset


def test_team_member_gets_the_dataset(bob, dataset):
    assert get_dataset_for_user(bob, dataset.pk) == dataset


def test_outsider_gets_404(charlie, dataset):
    with pytest.raises(Http404):
        get_dataset_for_user(charlie, dataset.pk)


def test_team_member_does_not_see_the_owners_private_dataset(bob, private_dataset):
    with pytest.raises(Http404):
        get_dataset_for_user(bob, private_dataset.pk)


def test_anonymous_sees_nothing(dataset):
    from django.contrib.auth.models import AnonymousUser

    assert list(datasets_visible_to(AnonymousUser())) == []
    with pytest.raises(Http404):
        get_dataset_for_user(AnonymousUser(), dataset.pk)


def test_garbage_ids_are_404_not_500(alice, dataset):
    with pytest.raises(Http404):
        get_dataset_for_user(alice, "not-a-number")


def test_only_owner_and_staff_may_delete(alice, bob, staff, dataset):
    assert get_dataset_for_user(alice, dataset.pk, delete=True) == dataset
    assert get_dataset_for_user(staff, dataset.pk, delete=True) == dataset
    with pytest.raises(Http404):
        get_dataset_for_user(bob, dataset.pk, delete=True)


def test_visible_datasets_are_listed_once_per_user(alice, bob, charlie, dataset, private_dataset):
    assert list(datasets_visible_to(alice).order_by("name")) == [private_dataset, dataset]
    assert list(datasets_visible_to(bob)) == [dataset]
    assert list(datasets_visible_to(charlie)) == []


def test_runs_follow_their_dataset(alice, bob, charlie, dataset):
    run = SelectionRun.objects.create(dataset=dataset, config=CONFIG, result_tag_name="r")
    assert get_run_for_user(alice, run.pk) == run
    assert get_run_for_user(bob, run.pk) == run
    with pytest.raises(Http404):
        get_run_for_user(charlie, run.pk)


def test_presets_by_visibility(alice, bob, charlie, team):
    private = StrategyPreset.objects.create(name="p", owner=alice, config=CONFIG)
    shared = StrategyPreset.objects.create(
        name="t", owner=alice, config=CONFIG, visibility="team", team=team
    )
    public = StrategyPreset.objects.create(
        name="pub", owner=alice, config=CONFIG, visibility="public"
    )
    assert get_preset_for_user(alice, private.pk) == private
    with pytest.raises(Http404):
        get_preset_for_user(bob, private.pk)
    assert get_preset_for_user(bob, shared.pk) == shared
    with pytest.raises(Http404):
        get_preset_for_user(charlie, shared.pk)
    assert get_preset_for_user(charlie, public.pk) == public
    with pytest.raises(PermissionDenied, match="Only the owner"):
        get_preset_for_user(charlie, public.pk, write=True)
    assert get_preset_for_user(alice, public.pk, write=True) == public
