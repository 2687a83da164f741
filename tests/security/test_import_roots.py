"""Import roots have owners (issue 10.2): a team's root is open to its members and staff, the
settings roots to staff only; a path must stay inside the root it was given under, symlinks
resolved; the admin manages the roots; the CLI (the operator) is unrestricted."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from curation.imports.services import IngestError, dataset_import
from curation.models import Dataset, ImportRoot, Sample
from curation.storage.roots import import_roots_for_user


def image(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 10, 10)).save(path)


@pytest.fixture
def other_team(db, charlie) -> Group:
    group = Group.objects.create(name="other-team")
    charlie.groups.add(group)
    return group


@pytest.fixture
def roots(tmp_path, team, other_team, settings):
    """Root A (alice's and bob's team), root B (charlie's team), a staff-only admin root and a
    settings root (staff only), each with a folder of one image."""
    paths = {key: (tmp_path / key).resolve() for key in ("a", "b", "staff", "settings")}
    for key, path in paths.items():
        image(path / "shoot" / f"{key}.png")
    ImportRoot.objects.create(path=str(paths["a"]), name="Team A", group=team)
    ImportRoot.objects.create(path=str(paths["b"]), name="Team B", group=other_team)
    ImportRoot.objects.create(path=str(paths["staff"]), name="Staff only")
    settings.CURATION_IMPORT_ROOTS = [paths["settings"]]
    return paths


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_each_user_gets_the_roots_of_their_teams(roots, alice, charlie, staff):
    assert import_roots_for_user(alice) == [roots["a"]]
    assert import_roots_for_user(charlie) == [roots["b"]]
    assert sorted(import_roots_for_user(staff)) == sorted(roots.values())
    assert import_roots_for_user(AnonymousUser()) == []
    alice.is_active = False
    assert import_roots_for_user(alice) == []


# -- web ----------------------------------------------------------------------------------------


def create(client, name: str, folder) -> object:
    return client.post(
        reverse("dataset-create"), {"name": name, "source": "folder", "folder": str(folder)}
    )


@pytest.mark.parametrize("key", ["b", "staff", "settings"])
def test_web_a_team_member_cannot_import_another_root(client, alice, roots, key):
    client.force_login(alice)
    response = create(client, "stolen", roots[key] / "shoot")
    assert response.status_code == 400
    assert (
        f"{roots[key] / 'shoot'} is outside the folders imports may read for you "
        "(CURATION_IMPORT_ROOTS and your teams&#x27; import roots)"
    ) in response.content.decode()
    assert not Dataset.objects.filter(name="stolen").exists()


def test_web_a_user_without_roots_is_told_so(client, roots, db):
    loner = User.objects.create_user("loner", password="x")
    client.force_login(loner)
    response = create(client, "x", roots["a"] / "shoot")
    assert response.status_code == 400
    assert "No server folder is open to you: ask an administrator" in response.content.decode()
    assert not Dataset.objects.exists()


def test_web_the_create_page_lists_only_the_users_roots(client, alice, staff, roots):
    client.force_login(alice)
    page = client.get(reverse("dataset-create")).content.decode()
    assert str(roots["a"]) in page
    assert all(str(roots[k]) not in page for k in ("b", "staff", "settings"))
    client.force_login(staff)
    page = client.get(reverse("dataset-create")).content.decode()
    assert all(str(path) in page for path in roots.values())


def test_web_own_root_and_staff_settings_root_import(
    client, alice, staff, roots, immediate_tasks, django_capture_on_commit_callbacks
):
    for user, key in ((alice, "a"), (staff, "settings")):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = create(client, f"from-{key}", roots[key] / "shoot")
        assert response.status_code == 302
        dataset = Dataset.objects.get(name=f"from-{key}")
        assert list(dataset.samples.values_list("file_name", flat=True)) == [f"{key}.png"]


def test_web_a_symlink_into_another_root_is_refused_even_for_staff(client, staff, roots):
    os.symlink(roots["b"] / "shoot", roots["a"] / "link")
    client.force_login(staff)  # staff may use both roots, yet the link leaves root A
    response = create(client, "linked", roots["a"] / "link")
    assert response.status_code == 400
    assert (
        f"{roots['a'] / 'link'} leads through a symlink outside the folders imports may read"
    ) in response.content.decode()
    assert not Dataset.objects.filter(name="linked").exists()


# -- API ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["b", "staff", "settings"])
def test_api_a_team_member_cannot_import_another_root(api, dataset, roots, key):
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/import/", {"images": str(roots[key] / "shoot")}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"{roots[key] / 'shoot'} is outside the folders imports may read for you "
        "(CURATION_IMPORT_ROOTS and your teams' import roots): move the files below one of them "
        "or ask an administrator to add the folder."
    )
    assert Sample.objects.count() == 0


def test_api_a_symlink_into_another_root_is_refused(api, dataset, roots):
    os.symlink(roots["b"] / "shoot", roots["a"] / "link")
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/import/", {"images": str(roots["a"] / "link")}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"{roots['a'] / 'link'} leads through a symlink outside the folders imports may read "
        f"(it leaves the import root {roots['a']}): import the folder it points to from its own "
        "root."
    )
    assert Sample.objects.count() == 0


# -- the service, the scan and the CLI -----------------------------------------------------------


def test_the_service_checks_the_user_of_a_restricted_import(dataset, alice, roots):
    with pytest.raises(IngestError, match="outside the folders imports may read for you"):
        dataset_import(
            dataset=dataset, images=roots["b"] / "shoot", restrict_to_import_roots=True, user=alice
        )
    summary = dataset_import(
        dataset=dataset,
        images=roots["a"] / "shoot",
        restrict_to_import_roots=True,
        user=alice,
        workers=0,
    )
    assert summary.images_added == 1


def test_a_symlinked_folder_or_file_inside_an_import_folder_is_not_followed(dataset, alice, roots):
    shoot = roots["a"] / "shoot"
    os.symlink(roots["b"] / "shoot", shoot / "other-root")  # a folder in another root
    os.symlink(roots["a"] / "shoot", shoot / "same-root")  # even one in the same root
    os.symlink(roots["b"] / "shoot" / "b.png", shoot / "b.png")
    summary = dataset_import(
        dataset=dataset, images=shoot, restrict_to_import_roots=True, user=alice, workers=0
    )
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["a.png"]
    assert dict(summary.images_failed) == {
        "b.png": "a symlink to a file outside the image folder",
        "other-root/": "a symlinked folder, which imports skip",
        "same-root/": "a symlinked folder, which imports skip",
    }


def test_the_cli_is_the_operator_and_reads_any_folder(db, roots, tmp_path):
    User.objects.create_superuser("root", password="root-password")
    image(tmp_path / "anywhere" / "z.png")
    call_command(
        "import_dataset",
        "cli",
        "--images",
        str(tmp_path / "anywhere"),
        "--workers",
        "0",
        stdout=StringIO(),
    )
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["z.png"]


# -- admin --------------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="root-password")


def test_admin_lists_adds_and_validates_import_roots(client, superuser, team, tmp_path):
    client.force_login(superuser)
    assert client.get(reverse("admin:curation_importroot_changelist")).status_code == 200
    add = reverse("admin:curation_importroot_add")
    assert client.get(add).status_code == 200

    response = client.post(add, {"path": "relative/folder", "name": "bad", "group": team.pk})
    assert response.status_code == 200
    assert "&#x27;relative/folder&#x27; is not an absolute path" in response.content.decode()
    response = client.post(add, {"path": str(tmp_path / "missing"), "name": "bad"})
    assert "is not an existing folder on the server: create it first." in response.content.decode()
    assert not ImportRoot.objects.exists()

    response = client.post(add, {"path": f"{tmp_path}/./", "name": "Team", "group": team.pk})
    assert response.status_code == 302
    root = ImportRoot.objects.get()
    assert (root.path, root.group) == (str(tmp_path), team)


def test_non_staff_cannot_reach_the_admin(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:curation_importroot_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
