"""The maintainers' pages with Django's test client on a real database: content, escaping,
CSRF, login and roles, the project matrix and the range-diff."""

from __future__ import annotations

import pytest
from django.test import Client
from review_fixtures import XSS_CODE, XSS_SUBJECT, add_build_boot, make_crafted_outdir, make_outdir

from bot.post import outdir as od
from bot.review.models import Check, Event, Series

pytestmark = pytest.mark.django_db


def post_series(api, out):
    body = api.post("/api/cocci/series/", od.series_payload(out, "debian-linux"), format="json")
    assert body.status_code == 201, body.content
    sid = body.json()["id"]
    for check in od.checks(out, od.read_json(out / "report.json")):
        api.post(f"/api/1.2/series/{sid}/checks/", check, format="json")
    return sid


@pytest.fixture
def maintainer_browser(db, maintainer_api):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="maint")
    user.set_password("pw")
    user.save()
    c = Client(enforce_csrf_checks=True)
    assert c.login(username="maint", password="pw")
    return c


def test_crafted_patch_is_shown_as_text_never_markup(project, bot_api, tmp_path):
    sid = post_series(bot_api, make_crafted_outdir(tmp_path))
    html = Client().get(f"/series/{sid}/").content.decode()
    assert "<script>window.pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.pwned=2&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=window.pwned=1&gt;" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html  # from the report's call sites


def test_series_page_shows_everything_a_reviewer_reads(project, bot_api, outdir):
    sid = post_series(bot_api, outdir)
    html = Client().get(f"/series/{sid}/").content.decode()
    for needle in ('<span class="add">+\tif (!is_error_noslot_pfn(pfn) &amp;&amp; '
                   "kvm_pfn_to_refcounted_page(pfn))</span>",
                   "kvm_release_pfn_clean", "dirty-accessed", "untouched",
                   f"/series/{sid}/mbox/", "build PASS", "Log in</a> to review"):
        assert needle in html, needle
    assert "<button" not in html.split("<main>")[1]  # no actions for anonymous readers


def test_queue_lists_newest_first_with_badges_and_filters(project, bot_api, tmp_path):
    a = post_series(bot_api, make_outdir(tmp_path))
    b = post_series(bot_api, make_crafted_outdir(tmp_path))
    html = Client().get("/").content.decode()
    assert html.index(f"/series/{b}/") < html.index(f"/series/{a}/")
    assert 'class="badge fail"' in html and 'class="badge success"' in html
    only_new = Client().get("/?state=accepted").content.decode()
    assert f"/series/{a}/" not in only_new


def test_project_matrix_links_each_cell_to_its_log(project, bot_api, outdir):
    sid = post_series(bot_api, outdir)
    html = Client().get("/project/debian-linux/").content.decode()
    build = Check.objects.get(series_id=sid, context="build")
    assert f'<td class="cell success"><a href="/checks/{build.id}/log/"' in html
    assert '<td class="cell none">' in html  # checkpatch never ran
    log = Client().get(f"/checks/{build.id}/log/")
    assert log["Content-Type"].startswith("text/plain") and b"LD vmlinux" in log.content


def test_actions_need_a_logged_in_maintainer_and_csrf(project, bot_api, outdir,
                                                      maintainer_browser):
    sid = post_series(bot_api, outdir)
    anon = Client().post(f"/series/{sid}/action/", {"action": "accept"})
    assert anon.status_code == 302 and "/login/" in anon["Location"]
    no_csrf = maintainer_browser.post(f"/series/{sid}/action/", {"action": "accept"})
    assert no_csrf.status_code == 403
    assert Series.objects.get(pk=sid).state.slug == "new"
    page = maintainer_browser.get(f"/series/{sid}/")
    token = page.context["csrf_token"]
    done = maintainer_browser.post(f"/series/{sid}/action/",
                                   {"action": "changes", "comment": "Please split patch 2.",
                                    "csrfmiddlewaretoken": str(token)}, follow=True)
    assert Series.objects.get(pk=sid).state.slug == "changes-requested"
    html = done.content.decode()
    assert "Please split patch 2." in html and "series-state-changed" in html
    assert Event.objects.filter(category="series-state-changed", actor__username="maint").exists()


def test_range_diff_to_the_previous_version(project, bot_api, tmp_path):
    post_series(bot_api, make_outdir(tmp_path))
    out = make_outdir(tmp_path, variant=" /* v2 */")
    add_build_boot(out)
    v2 = post_series(bot_api, out)
    html = Client().get(f"/series/{v2}/").content.decode()
    section = html.split('id="range-diff"')[1]
    assert "1: [1/2] KVM: use kvm_pfn_to_refcounted_page() to release pages = unchanged" in section
    assert "2: [2/2] KVM: mark only refcounted pages dirty ! changed" in section
    assert "/* v2 */" in section


def test_no_javascript_anywhere(project, bot_api, outdir):
    sid = post_series(bot_api, outdir)
    for url in ("/", "/project/debian-linux/", f"/series/{sid}/", "/login/"):
        assert "<script" not in Client().get(url).content.decode()


def test_xss_fixture_really_carries_markup(tmp_path):
    out = make_crafted_outdir(tmp_path)
    text = "".join(p.read_text() for p in (out / "series").glob("000[12]-*.patch"))
    assert XSS_CODE.strip() in text and XSS_SUBJECT.strip() in text


def test_queue_and_project_pages_paginate_and_search(project, bot_api, client, tmp_path):
    from review_fixtures import make_outdir

    from bot import defaults
    from bot.post import outdir as od

    out = make_outdir(tmp_path)
    total = defaults.REVIEW_WEB_PAGE_SIZE + 5
    for i in range(total):
        body = od.series_payload(out, "debian-linux")
        body["dedupe_key"] = f"paging-key-{i:04d}"
        body["report"]["campaign"] = "other-campaign" if i == 3 else "kvm-refcounted-pfn"
        body["patches"] = [p.replace("Subject: [PATCH", f"Message-Id: <p{i}-{n}@x>\nSubject: [PATCH")
                           for n, p in enumerate(body["patches"])]
        body.pop("cover", None)
        assert bot_api.post("/api/cocci/series/", body, format="json").status_code == 201
    from bot.review.models import Series

    who = Series.objects.first().submitter.email.split("@")[0]
    for url in ("/", "/project/debian-linux/"):
        first = client.get(url).content.decode()
        assert f"{total} series, page 1 of 2" in first and 'rel="next"' in first
        second = client.get(url + "?page=2").content.decode()
        assert second.count('href="/series/') == 5
        found = client.get(url + "?campaign=other").content.decode()
        assert "1 series<" in found and 'href="/series/' in found
        assert "0 series" in client.get(url + "?submitter=nobody@nowhere").content.decode()
        assert f"{total} series" in client.get(url + f"?submitter={who}").content.decode()
    assert "page 2 of 2" in client.get("/?page=99").content.decode()   # clamped, not a 404


def test_maintainer_delegates_and_archives_from_the_page(project, bot_api, tmp_path):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from review_fixtures import make_outdir

    from bot.post import outdir as od
    from bot.review.auth import create_token
    from bot.review.models import Event, Patch

    create_token("maintainer", "maint")
    create_token("maintainer", "helper")
    user = get_user_model().objects.get(username="maint")
    user.set_password("pw")
    user.save()
    sid = bot_api.post("/api/cocci/series/", od.series_payload(make_outdir(tmp_path),
                                                                "debian-linux"),
                       format="json").json()["id"]
    patch = Patch.objects.get(series_id=sid, number=1)
    anon = Client().post(f"/patch/{patch.id}/action/", {"action": "archive"})
    assert anon.status_code == 302 and not Patch.objects.get(pk=patch.id).archived
    c = Client()
    assert c.login(username="maint", password="pw")
    page = c.get(f"/series/{sid}/").content.decode()
    assert 'value="helper"' in page and "Archive</button>" in page
    c.post(f"/patch/{patch.id}/action/", {"action": "delegate", "delegate": "helper"})
    c.post(f"/patch/{patch.id}/action/", {"action": "archive"})
    patch.refresh_from_db()
    assert patch.delegate.username == "helper" and patch.archived
    assert Event.objects.filter(category="patch-delegated", patch=patch).count() == 1
    bad = c.post(f"/patch/{patch.id}/action/", {"action": "delegate", "delegate": "cocci"},
                 follow=True)
    assert "is not a maintainer" in bad.content.decode()
    assert Patch.objects.get(pk=patch.id).delegate.username == "helper"
    page = c.get(f"/series/{sid}/").content.decode()
    assert "delegated to helper" in page and "archived</span>" in page
    api = c.get("/api/1.2/events/?category=patch-delegated").json()
    assert api[0]["payload"]["current_delegate"]["username"] == "helper"


def test_patchwork_permalinks_and_message_id_search(project, bot_api, outdir):
    import urllib.parse

    from bot.review.models import Cover, Patch

    sid = post_series(bot_api, outdir)
    other = post_series(bot_api, make_outdir(outdir.parent, variant=" /* v2 */"))
    patch = Patch.objects.get(series_id=sid, number=2)
    cover = Cover.objects.get(series_id=sid)
    c = Client()
    for url, where in ((f"/project/debian-linux/patch/{patch.msgid.strip('<>')}/",
                        f"/series/{sid}/#patch-2"),
                       (f"/project/debian-linux/cover/{cover.msgid.strip('<>')}/",
                        f"/series/{sid}/#cover"),
                       (f"/message/{urllib.parse.quote(patch.msgid)}/", f"/series/{sid}/#patch-2"),
                       (f"/cover/{cover.id}/", f"/series/{sid}/#cover"),
                       (f"/patch/{patch.id}/", f"/series/{sid}/#patch-2"),
                       ("/project/debian-linux/list/?q=KVM", "/project/debian-linux/?q=KVM")):
        rsp = c.get(url)
        assert (rsp.status_code, rsp["Location"]) == (302, where), url
    assert c.get("/project/debian-linux/patch/nobody@nowhere/").status_code == 404
    assert c.get(f"/project/other/patch/{patch.msgid.strip('<>')}/").status_code == 404
    for page in ("/", "/project/debian-linux/"):
        found = c.get(page, {"msgid": patch.msgid.strip("<>")}).content.decode()
        assert f'href="/series/{sid}/"' in found and f'href="/series/{other}/"' not in found
        assert 'name="msgid" value="' + patch.msgid.strip("<>") in found


def test_todo_list_with_count_and_the_delegate_column_and_filter(project, bot_api,
                                                                  maintainer_api,
                                                                  maintainer_browser, tmp_path):
    from django.contrib.auth import get_user_model

    from bot.review.auth import create_token
    from bot.review.models import Patch

    mine = post_series(bot_api, make_outdir(tmp_path))
    theirs = post_series(bot_api, make_crafted_outdir(tmp_path))
    create_token("maintainer", "helper")
    helper = get_user_model().objects.get(username="helper")
    patch = Patch.objects.get(series_id=theirs, number=1)
    assert maintainer_api.patch(f"/api/1.2/patches/{patch.id}/", {"delegate": helper.id},
                                format="json").status_code == 200
    todo = maintainer_browser.get("/todo/").content.decode()
    assert f'href="/series/{mine}/"' in todo and f'href="/series/{theirs}/"' not in todo
    assert '<span id="todo-count">1</span>' in todo and "To do (1)" in todo
    assert maintainer_api.post(f"/api/cocci/series/{mine}/state/", {"state": "accepted"},
                               format="json").status_code == 200
    assert '<span id="todo-count">0</span>' in maintainer_browser.get("/todo/").content.decode()
    queue = Client().get("/").content.decode()
    assert '<td class="delegate">helper</td>' in queue and "To do (" not in queue
    only = Client().get("/", {"delegate": "helper"}).content.decode()
    assert f'href="/series/{theirs}/"' in only and f'href="/series/{mine}/"' not in only
    anon = Client().get("/todo/")
    assert anon.status_code == 302 and "/login/" in anon["Location"]


def test_profile_makes_and_revokes_the_accounts_own_tokens(project, maintainer_browser):
    from rest_framework.test import APIClient

    from bot.review.auth import create_token
    from bot.review.models import ApiToken

    others = create_token("maintainer", "helper")
    page = maintainer_browser.get("/profile/")
    assert page.status_code == 200 and page.content.decode().count('value="revoke"') == 1
    csrf = str(page.context["csrf_token"])
    assert maintainer_browser.post("/profile/", {"action": "create"}).status_code == 403
    made = maintainer_browser.post("/profile/", {"action": "create",
                                                 "csrfmiddlewaretoken": csrf})
    token = made.context["new_token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/1.2/users/").status_code == 200          # it works at once
    new_id = ApiToken.objects.filter(user__username="maint").order_by("id").last().id
    helper_id = ApiToken.objects.get(user__username="helper").id
    refused = maintainer_browser.post("/profile/", {"action": "revoke", "token": helper_id,
                                                    "csrfmiddlewaretoken": csrf}, follow=True)
    assert f"you have no token {helper_id}" in refused.content.decode()
    maintainer_browser.post("/profile/", {"action": "revoke", "token": new_id,
                                          "csrfmiddlewaretoken": csrf})
    assert api.get("/api/1.2/projects/").status_code == 401        # revoked: refused
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {others}")
    assert other.get("/api/1.2/users/").status_code == 200         # another's token untouched
    assert Client().get("/profile/").status_code == 302


def test_bulk_decision_from_the_list(project, bot_api, maintainer_browser, tmp_path):
    a = post_series(bot_api, make_outdir(tmp_path))
    b = post_series(bot_api, make_crafted_outdir(tmp_path))
    assert 'name="series"' not in Client().get("/").content.decode()   # readers: no boxes
    page = maintainer_browser.get("/")
    html = page.content.decode()
    assert f'<input type="checkbox" name="series" value="{a}"' in html
    csrf = str(page.context["csrf_token"])
    assert maintainer_browser.post("/series/bulk/", {"series": [a, b], "action": "reject"}
                                   ).status_code == 403                # CSRF
    done = maintainer_browser.post("/series/bulk/", {
        "series": [a, b], "action": "reject", "next": "/?q=KVM",
        "csrfmiddlewaretoken": csrf})
    assert (done.status_code, done["Location"]) == (302, "/?q=KVM")
    assert {Series.objects.get(pk=s).state.slug for s in (a, b)} == {"rejected"}
    assert Event.objects.filter(category="series-state-changed", actor__username="maint"
                                ).count() == 2
    anon = Client().post("/series/bulk/", {"series": [a], "action": "accept"})
    assert anon.status_code == 302 and "/login/" in anon["Location"]
