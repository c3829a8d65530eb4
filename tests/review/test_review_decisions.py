"""Decisions belong to maintainers: the server supersedes (same campaign, project and bot
account; open versions only), an absorbed release closes the bot's open versions, no account
changes another's series, tokens never change an account's role, logins are throttled, hosts
and schemes come from configuration."""

from __future__ import annotations

import pytest
from review_fixtures import make_outdir

from bot import defaults
from bot.post import outdir as od
from bot.review.models import Comment, Event, Series

pytestmark = pytest.mark.django_db


def post(client, out, **extra):
    return client.post("/api/cocci/series/", {**od.series_payload(out, "debian-linux"), **extra},
                       format="json")


def state(sid: int) -> str:
    return Series.objects.get(pk=sid).state.slug


def versions(tmp_path, n: int) -> list:
    return [make_outdir(tmp_path, variant=f" /* v{i} */" if i else "") for i in range(n)]


@pytest.mark.parametrize(("decided", "kept"), [
    ("new", False), ("under-review", False), ("changes-requested", False),
    ("accepted", True), ("rejected", True), ("rfc", True), ("deferred", True),
    ("awaiting-upstream", True), ("not-applicable", True),
])
def test_newer_version_supersedes_only_open_ones(project, bot_api, maintainer_api, tmp_path,
                                                decided, kept):
    v1, v2 = versions(tmp_path, 2)
    sid = post(bot_api, v1).json()["id"]
    if decided != "new":
        maintainer_api.post(f"/api/cocci/series/{sid}/state/", {"state": decided},
                            format="json")
    post(bot_api, v2)
    assert state(sid) == (decided if kept else "superseded")


def test_all_older_open_versions_are_superseded_and_one_event_each(project, bot_api, tmp_path):
    outs = versions(tmp_path, 3)
    ids = [post(bot_api, o).json()["id"] for o in outs]
    assert [state(i) for i in ids] == ["superseded", "superseded", "new"]
    changes = Event.objects.filter(category="series-state-changed")
    assert sorted(changes.values_list("series_id", flat=True)) == ids[:2]


def test_another_bot_never_supersedes_and_cannot_call_supersede(project, bot_api, tmp_path):
    from conftest import _client

    other = _client("bot", "other-bot")
    v1, v2 = versions(tmp_path, 2)
    sid = post(bot_api, v1).json()["id"]
    post(other, v2)
    assert state(sid) == "new"
    rsp = other.post(f"/api/cocci/series/{sid}/supersede/", {}, format="json")
    assert rsp.status_code == 403 and "another account" in rsp.json()["detail"]
    assert state(sid) == "new"


def test_other_campaign_or_project_is_left_alone(project, bot_api, tmp_path):
    from bot.review.models import Project

    Project.objects.create(link_name="other", name="other", list_id="o", list_email="o@x")
    v1, v2, v3 = versions(tmp_path, 3)
    sid = post(bot_api, v1).json()["id"]
    body = od.series_payload(v2, "other")
    assert bot_api.post("/api/cocci/series/", body, format="json").status_code == 201
    body = od.series_payload(v3, "debian-linux")
    body["report"]["campaign"] = "another-campaign"
    body["dedupe_key"] = "another-campaign-1"
    assert bot_api.post("/api/cocci/series/", body, format="json").status_code == 201
    assert state(sid) == "new"


def test_absorbed_closes_the_bots_open_versions_with_the_comment(project, bot_api,
                                                                 maintainer_api, tmp_path):
    from conftest import _client

    v1, v2, v3 = versions(tmp_path, 3)
    a = post(bot_api, v1).json()["id"]
    maintainer_api.post(f"/api/cocci/series/{a}/state/", {"state": "accepted"}, format="json")
    b = post(bot_api, v2).json()["id"]
    c = post(_client("bot", "other-bot"), v3).json()["id"]
    url = "/api/cocci/projects/debian-linux/campaigns/kvm-refcounted-pfn/absorbed/"
    rsp = bot_api.post(url, {"release": "v6.1.100", "comment": "In v6.1.100 upstream."},
                       format="json")
    assert rsp.status_code == 200 and rsp.json() == {"series": [b]}
    assert (state(a), state(b), state(c)) == ("accepted", "not-applicable", "new")
    assert Comment.objects.get(series_id=b).content == "In v6.1.100 upstream."
    assert bot_api.post(url, {"release": "v6.1.100"}, format="json").json() == {"series": []}
    assert bot_api.post(url, {"release": 5}, format="json").status_code == 400
    assert bot_api.post(url, {}, format="json").status_code == 400
    assert bot_api.post(url.replace("debian-linux", "nope"), {"release": "x"},
                        format="json").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().post(url, {"release": "x"}, format="json").status_code in (401, 403)


def test_range_diff_and_site_delta_are_kept_and_shown(project, bot_api, client, tmp_path):
    v1, v2 = versions(tmp_path, 2)
    post(bot_api, v1)
    rd = ("1:  1111111 = 1:  2222222 KVM: use kvm_pfn_to_refcounted_page()\n"
          "2:  3333333 ! 2:  4444444 KVM: mark only refcounted pages dirty\n"
          "    @@ virt/kvm/kvm_main.c\n    -\tif (a)\n    +\tif (b) /* <v2> */\n")
    delta = {"appeared": [{"file": "virt/kvm/mmu.c", "line": 7, "function": "f",
                           "expression": "kvm_is_reserved_pfn(p)"}],
             "vanished": ["virt/kvm/old.c:3 g"], "changed": []}
    rsp = post(bot_api, v2, range_diff=rd, site_delta=delta)
    assert rsp.status_code == 201 and rsp.json()["site_delta"] == delta
    page = client.get(f"/series/{rsp.json()['id']}/").content.decode()
    assert "git range-diff, as the bot computed it" in page
    assert '<span class="add">    +\tif (b) /* &lt;v2&gt; */</span>' in page
    assert "! changed" not in page      # the bot's range-diff replaces the patch comparison
    assert "virt/kvm/mmu.c:7 f kvm_is_reserved_pfn(p)" in page
    assert "virt/kvm/old.c:3 g" in page and "Changed (0)" in page


@pytest.mark.parametrize(("extra", "message"), [
    ({"range_diff": 5}, "range_diff must be a string"),
    ({"site_delta": []}, "site_delta must be an object of lists"),
    ({"site_delta": {"appeared": "x"}}, "site_delta must be an object of lists"),
    ({"site_delta": {"gone": []}}, "site_delta must be an object of lists"),
    ({"site_delta": {"appeared": [5]}}, "site_delta.appeared[0]"),
])
def test_bad_range_diff_or_site_delta_is_400(project, bot_api, tmp_path, extra, message):
    rsp = post(bot_api, make_outdir(tmp_path), **extra)
    assert rsp.status_code == 400 and message in rsp.json()["detail"]
    assert Series.objects.count() == 0


def test_tokens_never_change_a_role_and_names_are_validated(db):
    from bot.errors import UserError
    from bot.review.auth import create_token, list_tokens, revoke_token, role_of
    from bot.review.models import ApiToken

    create_token("bot", "the-bot")
    with pytest.raises(UserError, match="'the-bot' is a bot account"):
        create_token("maintainer", "the-bot")
    create_token("maintainer", "boss")
    with pytest.raises(UserError, match="is a maintainer account"):
        create_token("bot", "boss")
    from django.contrib.auth import get_user_model

    assert role_of(get_user_model().objects.get(username="the-bot")) == "bot"
    for bad in ("", "a b", "-x", "x" * 65, "ünï", "a/b", "a\nb"):
        with pytest.raises(UserError, match="account name"):
            create_token("bot", bad)
    second = create_token("bot", "the-bot")
    rows = list_tokens()
    assert [(r["username"], r["role"]) for r in rows] == [
        ("the-bot", "bot"), ("boss", "maintainer"), ("the-bot", "bot")]
    assert revoke_token(str(rows[0]["id"])) == "the-bot"
    assert revoke_token(second) == "the-bot"
    assert list(ApiToken.objects.values_list("user__username", flat=True)) == ["boss"]
    with pytest.raises(UserError, match="no token"):
        revoke_token("12345")


def test_login_is_throttled_per_account_and_address_with_an_address_ceiling(db, client, settings,
                                                                          caplog):
    import base64

    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from bot.review.auth import create_token

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    token = create_token("maintainer", "maint")
    user = get_user_model().objects.get(username="maint")
    user.set_password("right")
    user.save()
    stranger = "10.6.6.6"
    for _ in range(defaults.REVIEW_LOGIN_FAILURES):
        assert client.post("/login/", {"username": "maint", "password": "wrong"},
                           REMOTE_ADDR=stranger).status_code == 200
    rsp = client.post("/login/", {"username": "maint", "password": "right"}, REMOTE_ADDR=stranger)
    assert rsp.status_code == 429 and "Too many failed logins" in rsp.content.decode()
    assert "_auth_user_id" not in client.session
    assert [r.getMessage() for r in caplog.records if "login locked" in r.getMessage()] == [
        f"login locked: account 'maint' from {stranger} after "
        f"{defaults.REVIEW_LOGIN_FAILURES} failed web logins, for "
        f"{defaults.REVIEW_LOGIN_WINDOW // 60} min"]
    basic = "Basic " + base64.b64encode(b"maint:right").decode()
    api = APIClient(REMOTE_ADDR=stranger)
    rsp = api.get("/api/1.2/projects/", HTTP_AUTHORIZATION=basic)
    assert rsp.status_code == 401 and "too many failed logins" in rsp.json()["detail"]
    # the owner, from their own address, is not locked out by the stranger; nor is their token
    assert APIClient(REMOTE_ADDR="10.0.0.9").get(
        "/api/1.2/users/", HTTP_AUTHORIZATION=basic).status_code == 200
    assert api.get("/api/1.2/users/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    owner = client.post("/login/", {"username": "maint", "password": "right"},
                        REMOTE_ADDR="10.0.0.9")
    assert owner.status_code == 302 and client.session["_auth_user_id"] == str(user.id)
    client.logout()
    # an address trying many accounts meets the per-address ceiling, for every account
    sprayer = "10.7.7.7"
    for n in range(defaults.REVIEW_LOGIN_ADDRESS_FAILURES):
        client.post("/login/", {"username": f"user{n}", "password": "x"}, REMOTE_ADDR=sprayer)
    assert client.post("/login/", {"username": "maint", "password": "right"},
                       REMOTE_ADDR=sprayer).status_code == 429
    assert any(f"address {sprayer} after {defaults.REVIEW_LOGIN_ADDRESS_FAILURES}" in
               r.getMessage() for r in caplog.records)
    spoofed = client.post("/login/", {"username": "maint", "password": "right"},
                          REMOTE_ADDR=stranger, HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert spoofed.status_code == 429  # X-Forwarded-For is ignored without a trusted proxy


def test_a_maintainer_of_one_project_cannot_decide_anothers(project, bot_api, tmp_path):
    from rest_framework.test import APIClient

    from bot.review.auth import create_token
    from bot.review.models import Patch, Project

    Project.objects.create(link_name="other", name="other", list_id="o", list_email="o@x")
    theirs = APIClient()
    theirs.credentials(HTTP_AUTHORIZATION="Token " + create_token("maintainer", "o-maint",
                                                                   ["other"]))
    ours = APIClient()
    ours.credentials(HTTP_AUTHORIZATION="Token " + create_token(
        "maintainer", "d-maint", ["debian-linux"], ("Dee Maint", "d@example.org")))
    sid = post(bot_api, make_outdir(tmp_path)).json()["id"]
    pid = Patch.objects.filter(series_id=sid).first().id
    rsp = theirs.patch(f"/api/1.2/patches/{pid}/", {"state": "accepted"}, format="json")
    assert rsp.status_code == 403 and "not a maintainer of debian-linux" in rsp.json()["detail"]
    rsp = theirs.post(f"/api/cocci/series/{sid}/state/", {"state": "rejected"}, format="json")
    assert rsp.status_code == 403 and state(sid) == "new"
    assert ours.patch(f"/api/1.2/patches/{pid}/", {"state": "accepted"},
                      format="json").status_code == 200


def test_unversioned_and_older_api_prefixes_serve_the_same(project, bot_api, tmp_path):
    sid = post(bot_api, make_outdir(tmp_path)).json()["id"]
    index = bot_api.get("/api/").json()
    assert index["series"].endswith("/api/1.2/series/")
    for prefix in ("/api/", "/api/1.0/", "/api/1.1/", "/api/1.2/", "/api/1.3/"):
        rsp = bot_api.get(f"{prefix}series/{sid}/")
        assert rsp.status_code == 200 and rsp.json()["id"] == sid, prefix
    schema = bot_api.get("/api/schema/").content.decode()
    assert "/api/1.1/" not in schema and "/api/1.2/bundles/" in schema


def test_bulk_decision_is_one_request_with_the_same_rules_and_events(project, bot_api,
                                                                    maintainer_api, tmp_path):
    from rest_framework.test import APIClient
    from review_fixtures import make_crafted_outdir

    from bot.review.auth import create_token
    from bot.review.models import Project

    a = post(bot_api, make_outdir(tmp_path)).json()["id"]
    b = post(bot_api, make_crafted_outdir(tmp_path)).json()["id"]
    url = "/api/cocci/series/state/"
    body = {"series": [a, b], "state": "accepted", "comment": "Thanks"}
    assert bot_api.post(url, body, format="json").status_code == 403
    Project.objects.create(link_name="other", name="other", list_id="o", list_email="o@x")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token " + create_token("maintainer", "o-maint",
                                                                    ["other"]))
    assert stranger.post(url, body, format="json").status_code == 403
    missing = maintainer_api.post(url, {**body, "series": [a, 999999]}, format="json")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    bad = maintainer_api.post(url, {**body, "state": "nonsense"}, format="json")
    assert bad.status_code == 400 and "unknown state" in bad.json()["detail"]
    assert (state(a), state(b)) == ("new", "new")          # nothing changed on any refusal
    assert not Event.objects.filter(category="series-state-changed").exists()
    done = maintainer_api.post(url, body, format="json")
    assert done.status_code == 200, done.content
    assert done.json() == {"series": [{"id": a, "state": "accepted"},
                                      {"id": b, "state": "accepted"}]}
    for sid in (a, b):     # the events and comment of a decision taken alone, per series
        assert Event.objects.filter(category="series-state-changed", series_id=sid).count() == 1
        assert Event.objects.filter(category="patch-state-changed", series_id=sid).count() == 2
        assert Comment.objects.filter(series_id=sid, content="Thanks").count() == 1
