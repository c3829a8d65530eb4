"""A human signs off: accepting a series needs an account with a real name and an e-mail (the
drafts carry their Signed-off-by); the queue records who accepted it (model, API, page, event);
an account without one is told why and how to fix it on the page, the API, git-pw's and
pwclient's paths (patch state); the API never makes an address up."""

from __future__ import annotations

import pytest
from review_fixtures import make_outdir

from bot.errors import UserError
from bot.post import outdir as od
from bot.review.models import Event, Patch, Series

pytestmark = pytest.mark.django_db


def post(client, tmp_path) -> int:
    rsp = client.post("/api/cocci/series/", od.series_payload(make_outdir(tmp_path),
                                                              "debian-linux"), format="json")
    assert rsp.status_code == 201, rsp.content
    return int(rsp.json()["id"])


def client_of(username: str, person: tuple[str, str] | None, password: str | None = None):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from bot.review.auth import create_token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + create_token("maintainer", username,
                                                               person=person))
    if password:
        user = get_user_model().objects.get(username=username)
        user.set_password(password)
        user.save()
    return api


def test_an_account_without_an_email_cannot_accept_and_is_told_the_fix(project, bot_api,
                                                                        tmp_path):
    sid = post(bot_api, tmp_path)
    nomail = client_of("nomail", None)
    rsp = nomail.post(f"/api/cocci/series/{sid}/state/", {"state": "accepted"}, format="json")
    assert rsp.status_code == 400
    detail = rsp.json()["detail"]
    assert "'nomail' lacks a real name and an e-mail address" in detail
    assert "cocci-bot serve --create-token maintainer nomail --email" in detail
    assert "\n" not in detail
    series = Series.objects.get(pk=sid)
    assert series.state.slug == "new" and series.approved_at is None
    # git-pw / pwclient accept patch by patch: refused the same way
    pid = Patch.objects.filter(series_id=sid).first().id
    rsp = nomail.patch(f"/api/1.2/patches/{pid}/", {"state": "accepted"}, format="json")
    assert rsp.status_code == 400 and "lacks a real name" in str(rsp.json())
    assert Patch.objects.get(pk=pid).state.slug == "new"
    # other decisions need no sign-off
    rsp = nomail.post(f"/api/cocci/series/{sid}/state/", {"state": "changes-requested"},
                      format="json")
    assert rsp.status_code == 200


def test_the_queue_records_who_accepted_and_forgets_it_when_the_decision_changes(
        project, bot_api, tmp_path):
    sid = post(bot_api, tmp_path)
    alice = client_of("alice", ("Alice van der Maintainer", "alice@example.org"))
    assert alice.post(f"/api/cocci/series/{sid}/state/", {"state": "accepted"},
                      format="json").status_code == 200
    doc = bot_api.get(f"/api/1.2/series/{sid}/").json()
    who = doc["approved_by"]
    assert {k: who[k] for k in ("username", "name", "email")} == {
        "username": "alice", "name": "Alice van der Maintainer", "email": "alice@example.org"}
    assert who["date"]
    event = Event.objects.filter(series_id=sid, category="series-state-changed").last()
    assert event.actor.username == "alice"
    assert "signed off by Alice van der Maintainer <alice@example.org>" in event.text
    # the page says who approved it
    from django.test import Client

    bob = client_of("bob", ("Bob Builder", "bob@example.org"), password="pw")
    assert bob is not None
    web = Client()
    assert web.login(username="bob", password="pw")
    page = web.get(f"/series/{sid}/").content.decode()
    assert "Alice van der Maintainer &lt;alice@example.org&gt;" in page
    assert 'id="cannot-approve"' not in page
    # a later decision against it clears the approval
    assert alice.post(f"/api/cocci/series/{sid}/state/", {"state": "rejected"},
                      format="json").status_code == 200
    assert bot_api.get(f"/api/1.2/series/{sid}/").json()["approved_by"] is None


def test_the_page_tells_a_maintainer_without_an_email_why_accept_is_off(project, bot_api,
                                                                         tmp_path):
    from django.test import Client

    sid = post(bot_api, tmp_path)
    client_of("carol", None, password="pw")
    web = Client()
    assert web.login(username="carol", password="pw")
    page = web.get(f"/series/{sid}/").content.decode()
    assert 'id="cannot-approve"' in page
    assert "cocci-bot serve --create-token maintainer carol --email" in page
    assert 'value="accept" disabled' in page
    # a forced POST is refused with the same reason
    page = web.post(f"/series/{sid}/action/", {"action": "accept"}, follow=True).content.decode()
    assert "lacks a real name and an e-mail address" in page
    assert Series.objects.get(pk=sid).state.slug == "new"


def test_create_token_sets_name_and_email_and_refuses_made_up_ones(project):
    from django.contrib.auth import get_user_model

    from bot.review.auth import create_token

    create_token("maintainer", "dave")
    create_token("maintainer", "dave", person=("Dave  Q. Public", "dave@example.org"))
    user = get_user_model().objects.get(username="dave")
    assert (user.get_full_name(), user.email) == ("Dave Q. Public", "dave@example.org")
    create_token("maintainer", "eve", person=("Eve", "eve@example.org"))
    assert get_user_model().objects.get(username="eve").get_full_name() == "Eve"
    for person, message in ((("Dave", "dave@localhost"), "not an address anyone reads"),
                            (("", "dave@example.org"), "is not usable"),
                            (("Dave <d@x.org>", "dave@example.org"), "is not usable"),
                            (("x" * 31 + " Y", "y@example.org"), "too long")):
        with pytest.raises(UserError, match=message):
            create_token("maintainer", "frank", person=person)


def test_the_api_leaves_out_an_email_it_does_not_have(project, bot_api, maintainer_api):
    """A bot account has no address: the user object has no `email` (Patchwork's schema does
    not require the key) rather than a made-up one."""
    users = {u["username"]: u for u in maintainer_api.get("/api/1.2/users/").json()}
    assert "email" not in users["cocci"]
    assert users["maint"]["email"] == "maint@example.org"
    assert not any("localhost" in str(u) for u in users.values())


@pytest.mark.parametrize(("argv", "message"), [
    (["--create-token", "maintainer", "x", "--email", "x@example.org"], "go together"),
    (["--create-token", "maintainer", "x", "--name", "X Y"], "go together"),
    (["--create-token", "bot", "x", "--name", "X Y", "--email", "x@example.org"],
     "a bot account signs nothing"),
    (["--email", "x@example.org", "--name", "X Y"], "go with --create-token maintainer"),
])
def test_serve_email_and_name_options_are_checked_first(tmp_path, capsys, argv, message):
    from bot import cli

    assert cli.main(["serve", "--data-dir", str(tmp_path / "data"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "data").exists()
