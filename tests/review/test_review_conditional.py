"""Conditional GET (ETag, Last-Modified, 304) and the response cache of anonymous reads: a
cached read runs no view and no query but the stamp's; every kind of write (the API, the ORM,
a bulk update, raw SQL) changes the stamp; credentials, hosts and settings are never mixed up."""

from __future__ import annotations

import pytest
import requests
from django.db import connection
from django.test import Client, override_settings

from bot.post import outdir as od
from bot.review.models import Patch, Series

# transactional: reads inside a transaction are never cached (bot.review.freshness)
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def series(project, bot_api, outdir) -> dict:
    rsp = bot_api.post("/api/cocci/series/", od.series_payload(outdir, "debian-linux"),
                       format="json")
    assert rsp.status_code == 201, rsp.content
    return rsp.json()


@pytest.fixture
def anon() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


def test_etag_and_last_modified_give_304(series, anon):
    url = f"/api/1.2/series/{series['id']}/"
    first = anon.get(url)
    assert first.status_code == 200 and first.json()["id"] == series["id"]
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "no-cache"
    again = anon.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    if connection.vendor == "sqlite":   # PostgreSQL's stamp (a snapshot) has no time
        modified = first["Last-Modified"]
        assert anon.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    else:
        assert "Last-Modified" not in first
    assert anon.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_cached_read_runs_only_the_stamp_query(series, anon, django_assert_num_queries):
    url = f"/api/1.2/patches/{series['patches'][0]['id']}/"
    first = anon.get(url)
    with django_assert_num_queries(1):
        again = anon.get(url)
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    with django_assert_num_queries(1):
        assert anon.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


@pytest.mark.parametrize("write", ["api", "orm", "bulk", "raw"])
def test_every_write_changes_etag_and_body(series, anon, maintainer_api, write):
    patch = series["patches"][0]
    url = f"/api/1.2/patches/{patch['id']}/"
    before = anon.get(url)
    assert before.json()["state"] == "new"
    if write == "api":
        assert maintainer_api.patch(url, {"state": "accepted"}, format="json").status_code == 200
    elif write == "orm":
        obj = Patch.objects.get(pk=patch["id"])
        obj.archived = True
        obj.save()
    elif write == "bulk":
        Patch.objects.filter(pk=patch["id"]).update(archived=True)
    else:
        with connection.cursor() as cur:
            cur.execute("UPDATE review_patch SET archived = %s WHERE id = %s",
                        [True, patch["id"]])
    after = anon.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    changed = after.json()
    assert changed["state"] == "accepted" if write == "api" else changed["archived"] is True


def test_credentials_are_never_served_from_or_into_the_cache(series, anon, bot_api):
    url = f"/api/1.2/series/{series['id']}/"
    anon.get(url)
    authed = bot_api.get(url)
    assert authed.status_code == 200 and "ETag" not in authed
    session = Client(HTTP_HOST="127.0.0.1")
    session.cookies["sessionid"] = "not-a-session"
    assert "ETag" not in session.get(url)


def test_host_and_settings_are_part_of_what_is_cached(series):
    url = f"/api/1.2/series/{series['id']}/"
    a = Client(HTTP_HOST="127.0.0.1").get(url).json()
    b = Client(HTTP_HOST="localhost").get(url).json()
    assert a["url"].startswith("http://127.0.0.1/") and b["url"].startswith("http://localhost/")
    with override_settings(REVIEW_SCHEME="https"):
        c = Client(HTTP_HOST="127.0.0.1").get(url).json()
    assert c["url"].startswith("https://127.0.0.1/")


def test_no_stamp_inside_a_transaction(series, anon):
    from django.db import transaction

    with transaction.atomic():
        assert "ETag" not in anon.get(f"/api/1.2/series/{series['id']}/")


def test_not_found_and_writes_are_not_cached(series, anon):
    missing = f"/api/1.2/series/{series['id'] + 1000}/"
    assert anon.get(missing).status_code == 404
    Series.objects.filter(pk=series["id"]).update(name="renamed")
    assert anon.get(f"/api/1.2/series/{series['id']}/").json()["name"] == "renamed"
    assert "ETag" not in anon.post(f"/api/1.2/series/{series['id']}/", {})


def test_live_server_answers_304(posted, live_queue):
    url = f"{live_queue.url}/api/1.2/series/{posted['ids'][0]}/"
    first = requests.get(url, timeout=10)
    assert first.status_code == 200 and first.headers["ETag"]
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    mbox = requests.get(f"{live_queue.url}/series/{posted['ids'][0]}/mbox/", timeout=10)
    assert mbox.status_code == 200 and "ETag" in mbox.headers
