"""Bad input is a 4xx naming the problem, never a 5xx, and nothing is stored: each input that
once made the queue answer 500/503 (found by probing it as a hostile client would). Runs on
SQLite and, under deploy/test-review-pg.sh, on PostgreSQL: the two must behave alike."""

from __future__ import annotations

import json
import os
import re

import pytest
from django.db import OperationalError, connection

from bot import defaults
from bot.post import outdir as od
from bot.review.models import Check, Comment, Cover, Event, Patch, Person, Series

pytestmark = pytest.mark.django_db
ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith("postgres")


def payload(out):
    return od.series_payload(out, "debian-linux")


def post(client, body):
    return client.post("/api/cocci/series/", body, format="json")


def nothing_stored() -> None:
    assert (Series.objects.count(), Patch.objects.count(), Cover.objects.count(),
            Event.objects.count(), Person.objects.count()) == (0, 0, 0, 0, 0)


def set_header(mail: str, name: str, value: str) -> str:
    head, body = mail.split("\n\n", 1)
    lines = [li for li in head.split("\n") if not li.lower().startswith(name.lower() + ":")]
    return "\n".join([*lines, f"{name}: {value}"]) + "\n\n" + body


@pytest.mark.parametrize(("header", "value", "message"), [
    ("Subject", "=?x-unknown?q?abc?=", "Subject: header uses an unknown charset"),
    ("Subject", "=?utf-8?b?////?=", "Subject: header has an undecodable encoded word"),
    ("Subject", "=?utf-16?b?AAAA?=", "Subject: header has an undecodable encoded word"),
    ("From", "=?x-unknown?q?abc?= <a@example.org>", "From: header uses an unknown charset"),
    ("From", "=?utf-8?b?////?= <a@example.org>", "From: header has an undecodable"),
    ("Date", "Fri, 31 Dec 9999 23:59:59 -1200", "Date: 'Fri, 31 Dec 9999 23:59:59 -1200' is "
                                                "outside the years"),
    ("From", f"{'N' * 300} <a@example.org>", "From: name is 300 characters"),
    ("From", f"<{'a' * 300}@example.org>", "From: address is 312 characters"),
    ("Message-Id", f"<{'m' * 300}@example.org>", "Message-Id is 314 characters"),
])
def test_bad_mail_header_is_400(project, bot_api, outdir, header, value, message):
    body = payload(outdir)
    body["patches"][1] = set_header(body["patches"][1], header, value)
    rsp = post(bot_api, body)
    assert rsp.status_code == 400, rsp.content
    assert "patch 2" in rsp.json()["detail"] and message in rsp.json()["detail"]
    nothing_stored()


def test_deeply_nested_json_is_400(project, bot_api, outdir):
    body = payload(outdir)
    text = json.dumps(body)[:-1] + ', "x": ' + "[" * 1000 + "]" * 1000 + "}"
    rsp = bot_api.post("/api/cocci/series/", text, content_type="application/json")
    assert rsp.status_code == 400, rsp.content
    assert "nested too deeply" in rsp.json()["detail"]
    body["report"]["deep"] = json.loads("[" * 40 + "]" * 40)
    rsp = post(bot_api, body)
    assert rsp.status_code == 400 and f"at most {defaults.REVIEW_MAX_JSON_DEPTH}" \
        in rsp.json()["detail"]
    nothing_stored()


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity"])
def test_float_out_of_range_is_400(project, bot_api, outdir, number):
    text = json.dumps(payload(outdir)).replace('"line": 5', f'"line": {number}')
    assert number in text
    rsp = bot_api.post("/api/cocci/series/", text, content_type="application/json")
    assert rsp.status_code == 400, rsp.content
    assert number.lstrip("-") in rsp.json()["detail"]
    nothing_stored()


@pytest.mark.parametrize("url", [
    "/api/1.2/patches/?project=²", "/api/1.2/patches/?submitter=²",
    "/api/1.2/patches/?delegate=²", "/api/1.2/series/?project=²", "/api/1.2/projects/²/",
    "/api/1.2/events/?project=٣", "/api/1.2/covers/?submitter=²",
    "/api/1.2/patches/?series=99999999999999999999999", "/api/1.2/events/?series=²",
    "/api/1.2/patches/?project=99999999999999999999999",
    "/api/1.2/series/?since=9999-12-31T23:59:59-12:00",
    "/api/1.2/patches/?before=0001-01-01T00:00:00%2B14:00",
    "/api/1.2/events/?since=0001-01-01T00:00:00%2B14:00",
])
def test_bad_filters_are_400_naming_the_parameter(project, bot_api, outdir, url):
    post(bot_api, payload(outdir))
    rsp = bot_api.get(url)
    assert rsp.status_code == 400, rsp.content
    name = re.search(r"[?&](\w+)=", url)
    assert (name.group(1) if name else "project") in rsp.json()


@pytest.mark.parametrize("url", [
    "/api/1.2/series/99999999999999999999999/", "/api/1.2/patches/99999999999999999999999/",
    "/api/1.2/patches/99999999999999999999/checks/", "/series/99999999999999999999999/",
    "/patch/99999999999999999999/mbox/", "/api/1.2/series/9223372036854775808/",
])
def test_huge_ids_in_paths_are_404(project, bot_api, url):
    assert bot_api.get(url).status_code == 404


def test_naive_and_plain_dates_still_filter(project, bot_api, outdir):
    post(bot_api, payload(outdir))
    assert len(bot_api.get("/api/1.2/series/?since=2000-01-01T00:00:00").json()) == 1
    assert len(bot_api.get("/api/1.2/series/?before=2000-01-01T00:00:00%2B02:00").json()) == 0


def test_taken_message_id_is_409_naming_the_series(project, bot_api, outdir):
    body = payload(outdir)
    body["patches"] = [set_header(p, "Message-Id", f"<p{i}@example.org>")
                       for i, p in enumerate(body["patches"])]
    first = post(bot_api, body)
    assert first.status_code == 201
    body["dedupe_key"] = "another-key-0001"
    rsp = post(bot_api, body)
    assert rsp.status_code == 409, rsp.content
    assert f"already belongs to series {first.json()['id']}" in rsp.json()["detail"]
    assert Series.objects.count() == 1 and Patch.objects.count() == 2
    body["patches"][1] = set_header(body["patches"][1], "Message-Id", "<p0@example.org>")
    body["dedupe_key"] = "another-key-0002"
    rsp = post(bot_api, body)
    assert rsp.status_code == 400 and "used by two mails" in rsp.json()["detail"]


def _full_sqlite():
    with connection.cursor() as cur:
        cur.execute("PRAGMA page_count")
        pages = cur.fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages}")


def _full_postgres():
    """PostgreSQL cannot be filled here without a mount: inject the error it raises
    (SQLSTATE 53100) on every write, as a full data disk would."""
    import psycopg

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            cause = psycopg.errors.DiskFull("could not extend file: No space left on device")
            raise OperationalError(str(cause)) from cause
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_full_disk_is_503_with_a_message_and_reads_still_work(project, bot_api,
                                                              maintainer_api, outdir):
    import contextlib

    sid = post(bot_api, payload(outdir)).json()["id"]
    other = payload(outdir)
    other["dedupe_key"] = "second-key-0001"
    other["patches"] = [p.replace("KVM: mark", "KVM: now mark") for p in other["patches"]]
    with contextlib.ExitStack() as stack:
        if ON_POSTGRES:
            stack.enter_context(_full_postgres())
        else:
            _full_sqlite()
            stack.callback(connection.cursor().execute, "PRAGMA max_page_count = 1073741823")
        rsp = post(bot_api, other)
        assert rsp.status_code == 503, rsp.content
        assert "disk full" in rsp.json()["detail"]
        check = {"context": "build", "state": "success", "log": "x" * 200_000}
        rsp = bot_api.post(f"/api/1.2/series/{sid}/checks/", check, format="json")
        assert rsp.status_code == 503 and "disk full" in rsp.json()["detail"]
        assert bot_api.get(f"/api/1.2/series/{sid}/").status_code == 200
        assert bot_api.get(f"/series/{sid}/").status_code == 200
    assert Series.objects.count() == 1 and Check.objects.count() == 0
    assert post(bot_api, other).status_code == 201


@pytest.mark.parametrize("body", [
    {"state": 5}, {"state": ["accepted"]}, {"state": "accepted", "comment": 7},
    {"state": "accepted", "comment": {"a": 1}}, {"state": None},
])
def test_non_string_state_or_comment_is_refused(project, bot_api, maintainer_api, outdir,
                                                 body):
    sid = post(bot_api, payload(outdir)).json()["id"]
    rsp = maintainer_api.post(f"/api/cocci/series/{sid}/state/", body, format="json")
    assert rsp.status_code == 400 and "must be strings" in rsp.json()["detail"]
    assert Series.objects.get().state.slug == "new" and Comment.objects.count() == 0


@pytest.mark.parametrize("field", [{"state": 5}, {"commit_ref": 12345}, {"pull_url": 1.5},
                                   {"delegate": 99999999999999999999}])
def test_patch_update_refuses_non_strings_and_huge_ids(project, bot_api, maintainer_api,
                                                       outdir, field):
    post(bot_api, payload(outdir))
    pid = Patch.objects.get(number=1).id
    rsp = maintainer_api.patch(f"/api/1.2/patches/{pid}/", field, format="json")
    assert rsp.status_code == 400, rsp.content
    assert next(iter(field)) in rsp.json()
    patch = Patch.objects.get(pk=pid)
    assert (patch.state.slug, patch.commit_ref, patch.pull_url) == ("new", None, None)


def test_descriptions_are_bounded_and_long_comments_refused(project, bot_api, maintainer_api,
                                                            outdir):
    sid = post(bot_api, payload(outdir)).json()["id"]
    check = {"context": "build", "state": "success", "description": "d" * 100_000}
    assert bot_api.post(f"/api/1.2/series/{sid}/checks/", check,
                        format="json").status_code == 201
    stored = Check.objects.get().description
    assert len(stored) == defaults.REVIEW_MAX_DESCRIPTION and stored.endswith("truncated]")
    long = "c" * (defaults.REVIEW_MAX_COMMENT + 1)
    rsp = maintainer_api.post(f"/api/cocci/series/{sid}/state/",
                              {"state": "accepted", "comment": long}, format="json")
    assert rsp.status_code == 400 and str(defaults.REVIEW_MAX_COMMENT) in rsp.json()["detail"]
    assert Comment.objects.count() == 0 and Series.objects.get().state.slug == "new"


TROJAN = "\u202e} \u2066if (admin)\u2069 \u2066{\u2069"


def test_bidi_overrides_and_controls_are_shown_visibly_and_flagged(project, bot_api, client,
                                                                   tmp_path):
    from review_fixtures import add_build_boot, make_outdir

    out = make_outdir(tmp_path, variant=f" /* {TROJAN} */", extra_patch_text=" \x1b[31mred")
    add_build_boot(out)
    sid = post(bot_api, payload(out)).json()["id"]
    page = client.get(f"/series/{sid}/").content.decode()
    for char in "\u202e\u2066\u2069\x1b":
        assert char not in page
    assert "⟦U+202E⟧" in page and "⟦U+2066⟧" in page and "⟦U+001B⟧" in page
    assert 'id="hidden-chars"' in page and "Patch 2 contains control" in page
    assert page.count("hidden-chars\">") >= 1
    assert "\u202e" in Patch.objects.get(number=2).diff    # stored as posted, shown visibly
