"""Probing attacks found by the issue-10 red team: an error must not tell an outsider what it
may not see (which server paths exist, where a symlink points), and look-alike usernames must
not get fresh sign-in attempts."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from curation.imports.services import IngestError, dataset_import
from curation.models import Dataset, ImportRoot, Job, LoginFailure, Sample

OUTSIDE = (
    "{path} is outside the folders imports may read for you (CURATION_IMPORT_ROOTS and your "
    "teams' import roots): move the files below one of them or ask an administrator to add the "
    "folder."
)


@pytest.fixture
def roots(tmp_path, team, charlie):
    """Root ``a`` is bob's team's; ``b`` belongs to charlie's team and holds a file."""
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "shoot").mkdir(parents=True)
    (b / "secret").mkdir(parents=True)
    (b / "secret" / "plan.png").write_bytes(b"png")
    other = Group.objects.create(name="other-team")
    charlie.groups.add(other)
    ImportRoot.objects.create(path=str(a), name="A", group=team)
    ImportRoot.objects.create(path=str(b), name="B", group=other)
    return {"a": a, "b": b}


def existing_and_missing(roots):
    """Pairs of paths outside bob's root: one exists, one does not."""
    b = roots["b"]
    return [
        (b / "secret" / "plan.png", b / "secret" / "nothing.png"),
        (b / "secret", b / "no-folder"),
        (roots["a"] / ".." / "b" / "secret", roots["a"] / ".." / "b" / "missing"),
        ("/etc/passwd", "/etc/no-such-file-here"),
    ]


@pytest.mark.parametrize("option", ["images", "metadata"])
def test_api_import_never_tells_whether_a_path_outside_the_roots_exists(
    api, dataset, roots, option
):
    for there, missing in existing_and_missing(roots):
        answers = []
        for path in (there, missing):
            response = api("bob").post(
                f"/api/datasets/{dataset.pk}/import/", {option: str(path)}, format="json"
            )
            assert response.status_code == 400
            answers.append(response.json()["detail"])
        assert answers == [OUTSIDE.format(path=there), OUTSIDE.format(path=missing)]
    assert Job.objects.count() == 0 and Sample.objects.count() == 0


def test_web_folder_import_never_tells_whether_a_path_outside_the_roots_exists(client, bob, roots):
    client.force_login(bob)
    for there, missing in existing_and_missing(roots):
        for path in (there, missing):
            response = client.post(
                reverse("dataset-create"), {"name": "probe", "source": "folder", "folder": path}
            )
            assert response.status_code == 400
            text = response.content.decode()
            assert "is outside the folders imports may read for you" in text
            assert "does not exist" not in text
    assert not Dataset.objects.filter(name="probe").exists() and Job.objects.count() == 0


def test_a_dangling_symlink_in_a_root_does_not_tell_whether_its_target_exists(api, dataset, roots):
    os.symlink(roots["b"] / "secret", roots["a"] / "to-there")
    os.symlink(roots["b"] / "missing", roots["a"] / "to-nowhere")
    for name in ("to-there", "to-nowhere"):
        path = roots["a"] / name
        response = api("bob").post(
            f"/api/datasets/{dataset.pk}/import/", {"images": str(path)}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["detail"] == (
            f"{path} leads through a symlink outside the folders imports may read (it leaves the "
            f"import root {roots['a']}): import the folder it points to from its own root."
        )
    # a missing path inside the user's own root is still named as missing
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/import/", {"images": str(roots["a"] / "nope")}, format="json"
    )
    assert response.json()["detail"] == f"{roots['a'] / 'nope'} does not exist: check the path."
    assert Job.objects.count() == 0


def test_the_worker_rechecks_the_root_and_hides_existence_too(dataset, bob, roots):
    """A job queued before its root was removed in the admin is refused by the worker, with the
    same sentence whether the folder exists or not."""
    ImportRoot.objects.filter(path=str(roots["a"])).delete()
    for path in (roots["a"] / "shoot", roots["a"] / "gone"):
        with pytest.raises(IngestError) as refused:
            dataset_import(
                dataset=dataset, images=path, user=bob, restrict_to_import_roots=True, embed="never"
            )
        assert str(refused.value) == OUTSIDE.format(path=path)
    assert Sample.objects.count() == 0


# -- sign-in throttling: look-alike usernames ---------------------------------------------------


@pytest.fixture
def limits(settings):
    settings.CURATION_LOGIN_MAX_FAILURES = 3
    settings.CURATION_LOGIN_MAX_FAILURES_PER_ADDRESS = 0  # many addresses: only the account limit
    settings.CURATION_LOGIN_WINDOW_MINUTES = 15
    settings.CURATION_LOGIN_CLIENT_IP_HEADER = ""


def sign_in(client, username, password, address, url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"  # NFKC: "alice"


def test_a_fullwidth_username_signs_in_as_alice_so_it_is_locked_with_her(client, alice, limits):
    for number in range(3):
        assert sign_in(client, "alice", "wrong", f"10.0.0.{number}").status_code == 200
    # the sign-in form normalises the name: this is alice with her right password
    response = sign_in(client, FULLWIDTH_ALICE, "alice-password", "10.0.1.1")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_look_alike_and_case_variants_count_against_one_account(client, alice, limits, url):
    for number, variant in enumerate([FULLWIDTH_ALICE, "ALICE", " Alice "]):
        assert sign_in(client, variant, "wrong", f"10.0.2.{number}", url).status_code == 200
    assert set(LoginFailure.objects.values_list("username", flat=True)) == {"alice"}
    response = sign_in(client, "alice", "alice-password", "10.0.3.1", url)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_queued_import_whose_user_was_deleted_is_not_judged_by_the_staff_roots(
    api, dataset, bob, team, tmp_path, settings
):
    """The team root lies inside a (staff-only) settings root; the admin removes the team root
    and bob after bob queued an import: the worker must not fall back to the staff roots."""
    from PIL import Image

    from curation.jobs.services import job_execute

    operator = tmp_path / "ops"
    shoot = operator / "team-a" / "shoot"
    shoot.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(shoot / "x.png")
    settings.CURATION_IMPORT_ROOTS = [operator]
    ImportRoot.objects.create(path=str(operator / "team-a"), name="A", group=team)
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/import/", {"images": str(shoot)}, format="json"
    )
    assert response.status_code == 202
    ImportRoot.objects.all().delete()
    bob.delete()
    job = job_execute(job_id=response.json()["job"])
    assert job is not None and job.status == Job.Status.FAILED
    assert job.error == "The account that started this import was deleted; nothing was imported."
    assert Sample.objects.count() == 0
