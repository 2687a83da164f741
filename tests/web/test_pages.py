import pytest
from django.urls import reverse

from curation.models import Dataset, SelectionRun


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_logging_in_lands_on_the_dataset_list(client, alice, dataset):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "alice-password"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dataset-list")
    assert dataset.name in response.content.decode()


def test_wrong_password_says_so(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert "didn't match" in response.content.decode()


def test_logout_ends_the_session(client, alice):
    client.force_login(alice)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dataset-list")).status_code == 302


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("dataset-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("who", "sees"), [("alice", True), ("bob", True), ("charlie", False)])
def test_dataset_list_shows_only_visible_datasets(client, request, dataset, who, sees):
    Dataset.objects.create(name="someone-elses", owner=request.getfixturevalue("charlie"))
    client.force_login(request.getfixturevalue(who))
    text = client.get(reverse("dataset-list")).content.decode()
    assert (dataset.name in text) is sees
    assert ("someone-elses" in text) is (who == "charlie")


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_run_page_access(client, request, dataset, who, status):
    run = SelectionRun.objects.create(dataset=dataset, config={}, result_tag_name="picked")
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("run-detail", args=[run.pk]))
    assert response.status_code == status
    if status == 200:
        assert b"<html" in response.content and b'id="run-progress"' in response.content


def test_run_page_htmx_request_gets_the_fragment(client, alice, dataset):
    run = SelectionRun.objects.create(dataset=dataset, config={}, result_tag_name="picked")
    client.force_login(alice)
    response = client.get(reverse("run-detail", args=[run.pk]), headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert b'id="run-progress"' in response.content
