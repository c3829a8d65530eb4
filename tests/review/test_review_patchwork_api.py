"""Patchwork REST API 1.2, read side, on the real server: every response validates against
Patchwork's own published schema (../shared/reference/patchwork-api-v1.2.yaml), with
Patchwork's pagination and filters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REFERENCE = Path("/work/shared/reference/patchwork-api-v1.2.yaml")
LOCAL_COPY = Path(__file__).resolve().parents[2] / "bot/review/schema/patchwork-api-v1.2.yaml"


@pytest.fixture(scope="module")
def spec() -> dict:
    path = LOCAL_COPY if LOCAL_COPY.is_file() else REFERENCE
    return yaml.safe_load(path.read_text())


def validate(spec: dict, path: str, body, status: str = "200", method: str = "get") -> None:
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"]
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:patchwork", resource)
    wrapped = {"$ref": "urn:patchwork#/components/schemas/_x", **{}}
    spec["components"]["schemas"]["_x"] = schema
    validator = OAS31Validator(wrapped, registry=registry, format_checker=oas31_format_checker)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{path}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5])


@pytest.fixture(scope="module")
def pw(live_queue, posted):
    """The live queue with a patch check and a comment, so every list has content."""
    auth = {"Authorization": f"Token {live_queue.bot_token}"}
    sid = posted["ids"][1]
    series = requests.get(f"{live_queue.url}/api/1.2/series/{sid}/", timeout=10).json()
    pid = series["patches"][0]["id"]
    rsp = requests.post(f"{live_queue.url}/api/1.2/patches/{pid}/checks/", headers=auth,
                        json={"context": "checkpatch", "state": "warning",
                              "description": "1 warning",
                              "target_url": "https://ci.example.org/42"}, timeout=10)
    assert rsp.status_code == 201
    comment = requests.post(f"{live_queue.url}/api/cocci/series/{sid}/state/",
                            headers={"Authorization": f"Token {live_queue.maintainer_token}"},
                            json={"state": "under-review", "comment": "Looking at it."},
                            timeout=10)
    assert comment.status_code == 200, comment.text
    return {"url": live_queue.url, "series": series, "patch": pid,
            "auth": {"Authorization": f"Token {live_queue.maintainer_token}"},
            "cover": series["cover_letter"]["id"], "check": rsp.json()}


def get(url: str, headers: dict[str, str] | None = None, **params):
    rsp = requests.get(url, params=params, headers=headers, timeout=10)
    assert rsp.status_code == 200, (url, rsp.status_code, rsp.text[:300])
    return rsp


@pytest.mark.parametrize(("path", "url"), [
    ("/api/1.2/", "/api/1.2/"),
    ("/api/1.2/projects", "/api/1.2/projects/"),
    ("/api/1.2/projects/{id}", "/api/1.2/projects/1/"),
    ("/api/1.2/series", "/api/1.2/series/"),
    ("/api/1.2/series/{id}", "/api/1.2/series/{series}/"),
    ("/api/1.2/patches", "/api/1.2/patches/"),
    ("/api/1.2/patches/{id}", "/api/1.2/patches/{patch}/"),
    ("/api/1.2/patches/{id}/comments", "/api/1.2/patches/{patch}/comments/"),
    ("/api/1.2/patches/{patch_id}/checks", "/api/1.2/patches/{patch}/checks/"),
    ("/api/1.2/patches/{patch_id}/checks/{check_id}",
     "/api/1.2/patches/{patch}/checks/{check}/"),
    ("/api/1.2/covers", "/api/1.2/covers/"),
    ("/api/1.2/covers/{id}", "/api/1.2/covers/{cover}/"),
    ("/api/1.2/covers/{id}/comments", "/api/1.2/covers/{cover}/comments/"),
    ("/api/1.2/events", "/api/1.2/events/"),
    ("/api/1.2/people", "/api/1.2/people/"),
    ("/api/1.2/people/{id}", "/api/1.2/people/1/"),
    ("/api/1.2/users", "/api/1.2/users/"),
    ("/api/1.2/users/{id}", "/api/1.2/users/1/"),
])
def test_responses_validate_against_patchworks_schema(spec, pw, path, url):
    url = url.format(series=pw["series"]["id"], patch=pw["patch"], cover=pw["cover"],
                     check=pw["check"]["id"])
    signed_in = path.startswith(("/api/1.2/people", "/api/1.2/users"))
    body = get(pw["url"] + url, headers=pw["auth"] if signed_in else None).json()
    if isinstance(body, list) and "patches/{id}/comments" not in path:  # comments: series-level
        assert body, f"{url} listed nothing: the validation would prove nothing"
    validate(spec, path, body)


@pytest.mark.parametrize("url", ["/api/1.2/people/", "/api/1.2/people/1/", "/api/1.2/users/",
                                 "/api/1.2/users/1/", "/api/people/?q=%40"])
def test_people_and_users_are_not_for_strangers(pw, url):
    """Patchwork's rule: anonymous visitors get a 403, not the addresses."""
    rsp = requests.get(pw["url"] + url, timeout=10)
    assert rsp.status_code == 403 and "@" not in rsp.text


def test_schema_validation_can_fail(spec, pw):
    body = get(pw["url"] + f"/api/1.2/patches/{pw['patch']}/").json()
    body["state"] = 3
    with pytest.raises(AssertionError, match="state"):
        validate(spec, "/api/1.2/patches/{id}", body)


def test_extras_are_extra_fields_only(pw):
    s = pw["series"]
    assert {"state", "base_commit", "campaign", "previous", "checks", "report", "check"} <= set(s)
    report = get(s["report"]).json()
    assert report["campaign"] == "kvm-refcounted-pfn" and report["sites"]


def test_pagination_is_patchworks_link_header(pw):
    first = get(pw["url"] + "/api/1.2/patches/", per_page=1, order="id")
    rels = re.findall(r'<([^>]+)>; rel="(\w+)"', first.headers["Link"])
    assert [rel for _, rel in rels] == ["next", "first", "last"] and len(first.json()) == 1
    links = dict((rel, url) for url, rel in rels)
    second = get(links["next"])
    assert second.json()[0]["id"] > first.json()[0]["id"]
    assert [rel for _, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', second.headers["Link"])
            ] in (["next", "prev", "first", "last"], ["prev", "first", "last"])
    assert second.headers["Link"].startswith("<")      # pwclient reads a leading next only
    single = get(pw["url"] + "/api/1.2/projects/")
    assert [rel for _, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', single.headers["Link"])
            ] == ["first", "last"]


def test_filters(pw):
    base = pw["url"] + "/api/1.2/"
    sid = pw["series"]["id"]
    by_series = get(base + "patches/", series=sid).json()
    assert [p["id"] for p in by_series] == [p["id"] for p in pw["series"]["patches"]]
    assert all(p["project"]["link_name"] == "debian-linux"
               for p in get(base + "patches/", project="debian-linux").json())
    assert get(base + "patches/", project="nope").json() == []
    assert get(base + "patches/", state="superseded").json()
    assert all(p["state"] == "new" for p in get(base + "patches/", state="new").json())
    h = by_series[0]["hash"]
    assert [p["id"] for p in get(base + "patches/", hash=h.upper(), series=sid).json()] == \
        [by_series[0]["id"]]
    msgid = by_series[0]["msgid"].strip("<>")
    assert len(get(base + "patches/", msgid=msgid).json()) == 1
    newest = get(base + "series/", order="-date").json()
    assert newest[0]["date"] >= newest[-1]["date"]
    email = pw["series"]["submitter"]["email"]
    assert get(base + "series/", submitter=email).json()
    assert get(base + "series/", q="refcounted").json()
    assert get(base + "covers/", series=sid).json()[0]["id"] == pw["cover"]
    bad = requests.get(base + "patches/", params={"series": "x"}, timeout=10)
    assert bad.status_code == 400 and "is not an id" in bad.text


def test_mbox_downloads(pw):
    s = pw["series"]
    patch = get(s["patches"][0]["mbox"])
    # Patchwork's names and headers: scripts written for Patchwork keep working
    assert re.fullmatch(r"attachment; filename=1-2-KVM-use-[-_A-Za-z0-9.]+\.patch",
                        patch.headers["Content-Disposition"])
    assert patch.text.startswith("From ") and "diff --git" in patch.text
    assert f"\nX-Patchwork-Id: {s['patches'][0]['id']}\n" in patch.text
    assert "\nX-Patchwork-Submitter: " in patch.text
    assert get(s["mbox"]).text.count("X-Patchwork-Id: ") == 2
    series = get(s["mbox"]).text
    assert series.count("\ndiff --git") + series.startswith("diff --git") == 2
    cover = get(s["cover_letter"]["mbox"]).text
    assert "Subject: [PATCH 0/2]" in cover


def test_events_feed_speaks_patchworks_categories(pw):
    base = pw["url"] + "/api/1.2/events/"
    sid = pw["series"]["id"]
    cats = [e["category"] for e in get(base, series=sid, order="id").json()]
    assert cats[:7] == ["series-created", "cover-created", "patch-created", "patch-created",
                        "patch-completed", "patch-completed", "series-completed"]
    newest_first = get(base, series=sid).json()
    assert [e["id"] for e in newest_first] == sorted((e["id"] for e in newest_first),
                                                     reverse=True)
    completed = get(base, series=sid, category="patch-completed").json()
    assert {e["payload"]["series"]["id"] for e in completed} == {sid}
    assert sorted(e["payload"]["patch"]["id"] for e in completed) == \
        sorted(p["id"] for p in pw["series"]["patches"])
    assert "check-created" in cats and "patch-state-changed" in cats
    assert "series-state-changed" not in cats and "comment-created" not in cats
    changed = get(base, category="patch-state-changed", series=sid).json()
    assert {"under-review"} <= {e["payload"]["current_state"] for e in changed}
    assert any(e["actor"]["username"] == "maint" and e["payload"]["current_state"] ==
               "under-review" for e in changed)
    assert all(e["payload"]["patch"]["id"] in [p["id"] for p in pw["series"]["patches"]]
               for e in changed)


def test_patch_checks_filter_by_state(pw):
    url = pw["url"] + f"/api/1.2/patches/{pw['patch']}/checks/"
    every = get(url).json()
    warnings = get(url, state="warning").json()
    assert warnings and {c["state"] for c in warnings} == {"warning"}
    assert len(warnings) < len(every)
    assert [c["context"] for c in get(url, context="checkpatch").json()] == ["checkpatch"]
    assert requests.get(url, params={"state": "bogus"}, timeout=10).status_code == 400


def test_index_links_every_resource_and_answers_vary_accept(pw):
    rsp = get(pw["url"] + "/api/1.2/")
    assert set(rsp.json()) == {"bundles", "covers", "events", "patches", "people", "projects",
                               "series", "users"}
    assert get(rsp.json()["bundles"]).status_code == 200
    assert "Accept" in rsp.headers["Vary"]
    assert "Accept" in get(pw["url"] + "/api/1.1/patches/").headers["Vary"]


def test_api_1_1_answers_without_the_fields_1_2_added(pw):
    patch12 = get(pw["url"] + f"/api/1.2/patches/{pw['patch']}/").json()
    patch11 = get(pw["url"] + f"/api/1.1/patches/{pw['patch']}/").json()
    assert {"list_archive_url", "related"} <= set(patch12)
    assert not {"list_archive_url", "related"} & set(patch11)
    assert "list_archive_url_format" not in patch11["project"]
    assert set(patch12) - set(patch11) == {"list_archive_url", "related"}
    events = get(pw["url"] + "/api/1.1/events/").json()
    assert events and all("actor" not in e for e in events)


def test_a_maintainer_patches_their_project_and_is_listed(pw, live_queue):
    project = get(pw["url"] + "/api/1.2/projects/1/").json()
    assert live_queue.maintainer in [m["username"] for m in project["maintainers"]]
    url = pw["url"] + "/api/1.2/projects/1/"
    body = {"web_url": "https://kernel.example.org/", "name": "not changed"}
    assert requests.patch(url, json=body, timeout=10).status_code in (401, 403)
    bot = {"Authorization": f"Token {live_queue.bot_token}"}
    assert requests.patch(url, json=body, headers=bot, timeout=10).status_code == 403
    rsp = requests.patch(url, json=body, headers=pw["auth"], timeout=10)
    assert rsp.status_code == 200, rsp.text
    assert rsp.json()["web_url"] == "https://kernel.example.org/"
    assert rsp.json()["name"] == project["name"]
    bad = requests.patch(url, json={"web_url": "javascript:alert(1)"}, headers=pw["auth"],
                         timeout=10)
    assert bad.status_code == 400 and "web_url" in bad.json()
    assert requests.patch(url, json={"web_url": ""}, headers=pw["auth"],
                          timeout=10).status_code == 200
