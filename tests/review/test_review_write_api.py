"""The bot's write API on a real database: create, dedupe, reject bad input whole, roles."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot import defaults
from bot.post import outdir as od
from bot.review.models import Check, Comment, Cover, Event, Patch, Role, Series

pytestmark = pytest.mark.django_db


def payload(out, project="debian-linux"):
    return od.series_payload(out, project)


def post(client, body):
    return client.post("/api/cocci/series/", body, format="json")


def test_series_created_with_cover_patches_and_patch_ids(project, bot_api, outdir):
    rsp = post(bot_api, payload(outdir))
    assert rsp.status_code == 201, rsp.content
    body = rsp.json()
    assert body["version"] == 1 and body["total"] == 2 and body["received_all"] is True
    assert body["state"] == "new" and body["campaign"] == "kvm-refcounted-pfn"
    assert [p["name"] for p in body["patches"]] == [
        "[1/2] KVM: use kvm_pfn_to_refcounted_page() to release pages",
        "[2/2] KVM: mark only refcounted pages dirty"]
    first = sorted((outdir / "series").glob("0001-*.patch"))[0]
    expected = subprocess.run(["git", "patch-id", "--stable"], input=first.read_text(),
                              capture_output=True, text=True, check=True).stdout.split()[0]
    assert Patch.objects.get(number=1).patch_id == expected
    assert Cover.objects.get().series_id == body["id"]
    assert Series.objects.get().report["sites"][0]["line"] == 5


def test_same_series_twice_returns_the_first(project, bot_api, outdir):
    first = post(bot_api, payload(outdir)).json()
    again = post(bot_api, payload(outdir))
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert (Series.objects.count(), Patch.objects.count()) == (1, 2)


def test_derived_dedupe_key_is_stable_and_explicit_key_wins(project, bot_api, outdir):
    body = payload(outdir)
    body["report"].pop("dedupe_key", None)
    a = post(bot_api, body).json()
    body["dedupe_key"] = "explicit-key-0001"
    b = post(bot_api, body)
    assert b.status_code == 201 and b.json()["id"] != a["id"]
    assert Series.objects.get(pk=b.json()["id"]).dedupe_key == "explicit-key-0001"


@pytest.mark.parametrize(("mutate", "status", "message"), [
    (lambda b: b["patches"].__setitem__(1, "not a mail"), 400, "patch 2 is not an mbox"),
    (lambda b: b["patches"].__setitem__(
        1, b["patches"][1].replace("@@ -8,6 +8,6 @@", "@@ -8,6 +8,99 @@")), 400,
     "patch 2: the diff does not parse"),
    (lambda b: b["patches"].__setitem__(
        0, b["patches"][0].split("\ndiff --git")[0] + "\n"), 400, "has no diff"),
    (lambda b: b.__setitem__("project", "nonexistent"), 400, "unknown project 'nonexistent'"),
    (lambda b: b["report"].__setitem__("base", "HEAD"), 400, "report.base must be a 40-hex"),
    (lambda b: b.__setitem__("patches", []), 400, "patches must be a non-empty list"),
    (lambda b: b["patches"].pop(0), 400, "patch 1 is numbered 2/2 but 1 patches were posted"),
    (lambda b: b["patches"].reverse(), 400, "patch 1 is numbered 2/2"),
])
def test_bad_input_is_4xx_naming_the_problem_and_stores_nothing(
        project, bot_api, outdir, mutate, status, message):
    body = payload(outdir)
    mutate(body)
    rsp = post(bot_api, body)
    assert rsp.status_code == status, rsp.content
    assert message in rsp.json()["detail"]
    assert (Series.objects.count(), Patch.objects.count(), Cover.objects.count(),
            Event.objects.count()) == (0, 0, 0, 0)


def test_oversized_payload_is_413_naming_the_limit(project, bot_api, outdir):
    body = payload(outdir)
    body["cover"] += "x" * (defaults.REVIEW_MAX_POST_BYTES + 10)
    rsp = post(bot_api, body)
    assert rsp.status_code == 413
    assert str(defaults.REVIEW_MAX_POST_BYTES) in rsp.json()["detail"]
    assert Series.objects.count() == 0
    sid = post(bot_api, payload(outdir)).json()["id"]
    big_log = {"context": "build", "state": "fail", "log": "x" * defaults.REVIEW_MAX_POST_BYTES}
    rsp = bot_api.post(f"/api/1.2/series/{sid}/checks/", big_log, format="json")
    assert rsp.status_code == 413 and "exceeds the queue's limit" in rsp.json()["detail"]
    assert Check.objects.count() == 0


def test_posting_needs_a_token(project, client, outdir):
    rsp = client.post("/api/cocci/series/", payload(outdir), content_type="application/json")
    assert rsp.status_code in (401, 403)
    assert Series.objects.count() == 0


def test_bad_token_is_refused_with_a_hint(project, outdir):
    from rest_framework.test import APIClient

    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Token 0123456789")
    rsp = post(c, payload(outdir))
    assert rsp.status_code == 401 and "--create-token" in rsp.json()["detail"]


def test_bot_cannot_change_states_maintainer_can(project, bot_api, maintainer_api, outdir):
    sid = post(bot_api, payload(outdir)).json()["id"]
    pid = Patch.objects.get(number=1).id
    assert bot_api.patch(f"/api/1.2/patches/{pid}/", {"state": "accepted"},
                         format="json").status_code == 403
    assert bot_api.post(f"/api/cocci/series/{sid}/state/", {"state": "accepted"},
                        format="json").status_code == 403
    assert Patch.objects.get(pk=pid).state.slug == "new"
    rsp = maintainer_api.patch(f"/api/1.2/patches/{pid}/", {"state": "under-review"},
                               format="json")
    assert rsp.status_code == 200 and rsp.json()["state"] == "under-review"
    rsp = maintainer_api.post(f"/api/cocci/series/{sid}/state/",
                              {"state": "accepted", "comment": "Thanks, applied."},
                              format="json")
    assert rsp.status_code == 200 and rsp.json()["state"] == "accepted"
    assert set(Patch.objects.values_list("state__slug", flat=True)) == {"accepted"}
    cats = list(Event.objects.values_list("category", flat=True))
    assert "series-state-changed" in cats and "comment-created" in cats
    assert Event.objects.filter(category="patch-state-changed").count() == 3


def test_unknown_state_is_400(project, bot_api, maintainer_api, outdir):
    pid = (post(bot_api, payload(outdir)), Patch.objects.first().id)[1]
    rsp = maintainer_api.patch(f"/api/1.2/patches/{pid}/", {"state": "merged"}, format="json")
    assert rsp.status_code == 400 and "unknown state" in rsp.json()["state"][0]


def test_new_version_links_previous_and_the_server_supersedes(project, bot_api, tmp_path):
    from review_fixtures import make_outdir

    v1 = post(bot_api, payload(make_outdir(tmp_path))).json()
    bad = bot_api.post(f"/api/cocci/series/{v1['id']}/supersede/", {}, format="json")
    assert bad.status_code == 400 and "no newer version" in bad.json()["detail"]
    v2 = post(bot_api, payload(make_outdir(tmp_path, variant=" /* v2 */"))).json()
    assert v2["version"] == 2 and v2["previous"]["id"] == v1["id"]
    assert Series.objects.get(pk=v1["id"]).state.slug == "superseded"   # no client call
    assert set(Patch.objects.filter(series_id=v1["id"])
               .values_list("state__slug", flat=True)) == {"superseded"}
    rsp = bot_api.post(f"/api/cocci/series/{v1['id']}/supersede/", {}, format="json")
    assert rsp.status_code == 200 and rsp.json()["state"] == "superseded"   # older clients


def test_series_checks_attach_and_repost_is_not_duplicated(project, bot_api, outdir):
    sid = post(bot_api, payload(outdir)).json()["id"]
    check = {"context": "build", "state": "success", "description": "build PASS",
             "log": "CC a.o\n"}
    first = bot_api.post(f"/api/1.2/series/{sid}/checks/", check, format="json")
    again = bot_api.post(f"/api/1.2/series/{sid}/checks/", check, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["log"].endswith(f"/checks/{first.json()['id']}/log/")
    bad = bot_api.post(f"/api/1.2/series/{sid}/checks/", {**check, "state": "great"},
                       format="json")
    assert bad.status_code == 400 and "pending, success, warning, fail" in bad.json()["detail"]
    assert Check.objects.count() == 1
    series = bot_api.get(f"/api/1.2/series/{sid}/").json()
    assert series["check"] == "success"


def test_patch_check_patchwork_endpoint(project, bot_api, outdir):
    post(bot_api, payload(outdir))
    pid = Patch.objects.get(number=2).id
    rsp = bot_api.post(f"/api/1.2/patches/{pid}/checks/",
                       {"context": "checkpatch", "state": "warning",
                        "target_url": "https://ci.example.org/1"}, format="json")
    assert rsp.status_code == 201
    assert bot_api.get(f"/api/1.2/patches/{pid}/").json()["check"] == "warning"
    listed = bot_api.get(f"/api/1.2/patches/{pid}/checks/").json()
    assert [c["context"] for c in listed] == ["checkpatch"]


@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_text_no_database_can_store_is_400(project, bot_api, maintainer_api, outdir, bad):
    body = payload(outdir)
    body["report"]["sites"][0]["function"] = f"f{bad}"
    rsp = bot_api.post("/api/cocci/series/", json.dumps(body), content_type="application/json")
    assert rsp.status_code == 400 and "request.report.sites[0].function" in rsp.json()["detail"]
    assert Series.objects.count() == 0
    sid = post(bot_api, payload(outdir)).json()["id"]
    rsp = maintainer_api.post(f"/api/cocci/series/{sid}/state/",
                              json.dumps({"state": "accepted", "comment": f"ok{bad}"}),
                              content_type="application/json")
    assert rsp.status_code == 400
    assert maintainer_api.get("/api/1.2/patches/?q=a%00").status_code == 400


def test_a_decided_series_is_not_superseded(project, bot_api, maintainer_api, tmp_path):
    from review_fixtures import make_outdir

    v1 = post(bot_api, payload(make_outdir(tmp_path))).json()
    maintainer_api.post(f"/api/cocci/series/{v1['id']}/state/", {"state": "accepted"},
                        format="json")
    post(bot_api, payload(make_outdir(tmp_path, variant=" /* v2 */")))
    assert Series.objects.get(pk=v1["id"]).state.slug == "accepted"
    rsp = bot_api.post(f"/api/cocci/series/{v1['id']}/supersede/", {}, format="json")
    assert rsp.status_code == 400 and "is Accepted" in rsp.json()["detail"]
    assert Series.objects.get(pk=v1["id"]).state.slug == "accepted"


def test_patchwork_hash_normalises_paths_and_line_numbers():
    import hashlib

    from bot.review.hasher import patchwork_hash

    diff = ("diff --git a/virt/kvm/x.c b/virt/kvm/x.c\nindex 1..2 100644\n"
            "--- a/virt/kvm/x.c\n+++ b/virt/kvm/x.c\n@@ -10,3 +10,3 @@ void f(void)\n"
            " ctx\n-old\n+new\n ctx\n@@ -40 +40 @@\n-a\n+b\n")
    kept = ("--- a/virt/kvm/x.c\n+++ b/virt/kvm/x.c\n@@ -3 +3 @@\n ctx\n-old\n+new\n ctx\n"
            "@@ -1 +1 @@\n-a\n+b\n")
    assert patchwork_hash(diff) == hashlib.sha1(kept.encode()).hexdigest()
    moved = (diff.replace("@@ -10,3 +10,3 @@", "@@ -99,3 +101,3 @@").replace("\n", "\r\n")
             .replace("a/virt", "x/virt").replace("b/virt", "y/virt"))
    assert patchwork_hash(moved) == patchwork_hash(diff)
    assert patchwork_hash(diff.replace("+new", "+newer")) != patchwork_hash(diff)


def test_series_comment_needs_a_bot_or_maintainer_token(project, bot_api, client, outdir):
    from rest_framework.test import APIClient

    from bot.review.auth import create_token

    sid = post(bot_api, payload(outdir)).json()["id"]
    url = f"/api/cocci/series/{sid}/comments/"
    anon = client.post(url, {"content": "hello"}, content_type="application/json")
    assert anon.status_code in (401, 403)
    roleless = APIClient()   # a token whose account has no role (not bot, not maintainer)
    roleless.credentials(HTTP_AUTHORIZATION=f"Token {create_token('bot', 'other')}")
    Role.objects.filter(user__username="other").delete()
    assert roleless.post(url, {"content": "hello"}, format="json").status_code == 403
    assert Comment.objects.count() == 0


@pytest.mark.parametrize(("body", "message"), [
    (["content", "x"], "a comment is a JSON object"),
    ({}, "content is missing"),
    ({"content": 12}, "content is missing or not a non-empty string"),
    ({"content": "  \n"}, "content is missing or not a non-empty string"),
    ({"content": "x" * (defaults.REVIEW_MAX_COMMENT + 1)}, "longer than the limit of"),
    ({"content": "sent\x00"}, "comment contains a NUL character"),
])
def test_bad_series_comment_is_400_naming_the_fix(project, bot_api, outdir, body, message):
    sid = post(bot_api, payload(outdir)).json()["id"]
    rsp = bot_api.post(f"/api/cocci/series/{sid}/comments/", json.dumps(body),
                       content_type="application/json")
    assert rsp.status_code == 400, rsp.content
    detail = rsp.json()["detail"]
    assert message in detail and "\n" not in detail
    assert Comment.objects.count() == 0 and not Event.objects.filter(
        category="comment-created").exists()


def test_series_comment_unknown_series_is_404(project, bot_api):
    rsp = bot_api.post("/api/cocci/series/999/comments/", {"content": "x"}, format="json")
    assert rsp.status_code == 404


def test_series_comment_shows_in_the_api_and_on_the_page_once(project, bot_api, maintainer_api,
                                                              outdir):
    from django.test import Client

    sid = post(bot_api, payload(outdir)).json()["id"]
    text = "Sent 3 mails.\n\nMessage-IDs:\n<20240101.1-cover@bot.example>  [PATCH 0/2] x\n"
    url = f"/api/cocci/series/{sid}/comments/"
    first = bot_api.post(url, {"content": text}, format="json")
    again = bot_api.post(url, {"content": text}, format="json")   # a retried stage
    assert (first.status_code, again.status_code) == (201, 200), first.content
    assert first.json()["id"] == again.json()["id"] and first.json()["content"] == text
    assert first.json()["web_url"].endswith(f"/series/{sid}/#comment-{first.json()['id']}")
    other = maintainer_api.post(url, {"content": "Thanks."}, format="json")
    assert other.status_code == 201
    listed = bot_api.get(url).json()
    assert [c["content"] for c in listed] == [text, "Thanks."]
    assert listed[0]["submitter"]["name"] == "cocci"
    cover = Cover.objects.get(series_id=sid)
    patchwork = bot_api.get(f"/api/1.2/covers/{cover.id}/comments/").json()
    assert [c["content"] for c in patchwork] == [text, "Thanks."]
    html = Client().get(f"/series/{sid}/").content.decode()
    assert f'id="comment-{first.json()["id"]}"' in html
    assert "&lt;20240101.1-cover@bot.example&gt;" in html
    assert Event.objects.filter(category="comment-created", series_id=sid).count() == 2


def test_series_comments_are_in_a_valid_openapi_schema(project, bot_api):
    import yaml
    from openapi_spec_validator import validate

    spec = yaml.safe_load(bot_api.get("/api/schema/").content)
    validate(spec)
    op = spec["paths"]["/api/cocci/series/{id}/comments/"]
    body = op["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = spec["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert fields["required"] == ["content"] and "content" in fields["properties"]
    assert {"200", "201"} <= set(op["post"]["responses"]) and "get" in op
