"""Shared fixtures: alice owns, bob is on alice's team, charlie has no access; staff is staff."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from curation.models import Dataset

# Fixtures shared by several feature folders live in these plugins (tests/support/).
pytest_plugins = [
    "tests.support.api",
    "tests.support.exports",
    "tests.support.browse",
    "tests.support.deletion",
    "tests.support.uploads",
]


@pytest.fixture
def team(db) -> Group:
    return Group.objects.create(name="vision-team")


@pytest.fixture
def alice(db, team) -> User:
    user = User.objects.create_user("alice", password="alice-password")
    user.groups.add(team)
    return user


@pytest.fixture
def bob(db, team) -> User:
    user = User.objects.create_user("bob", password="bob-password")
    user.groups.add(team)
    return user


@pytest.fixture
def charlie(db) -> User:
    return User.objects.create_user("charlie", password="charlie-password")


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("stella", password="stella-password", is_staff=True)


@pytest.fixture
def dataset(alice, team) -> Dataset:
    return Dataset.objects.create(name="cats", owner=alice, team=team)


@pytest.fixture
def private_dataset(alice) -> Dataset:
    return Dataset.objects.create(name="alice-private", owner=alice)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: SQLite reuses ids between tests, and cached reads
    keyed by a dataset id (the browser's metadata facets, map binaries) must not leak across."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Each test writes media and embeddings below its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CURATION_EMBEDDINGS_ROOT = tmp_path / "embeddings"
