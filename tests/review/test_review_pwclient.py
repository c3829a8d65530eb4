"""Acceptance: pwclient (from PyPI, unmodified) against the real server, over REST and over
XML-RPC, as maintainers with older configurations use it: listing more than three pages,
looking patches up by hash, reading checks (the series' checks cover each patch), the events
feed, and updating a patch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests
from conftest import PASSWORD, start_queue
from review_fixtures import add_build_boot, make_long_outdir

from bot import proc
from bot.post import outdir as od

PWCLIENT = str(Path(sys.executable).with_name("pwclient"))
PATCHES = 91        # more than three pages of Patchwork's 30


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    root = tmp_path_factory.mktemp("pwc")
    (root / "queue").mkdir()
    with start_queue(root / "queue") as q:
        out = make_long_outdir(root, PATCHES)
        add_build_boot(out)
        payload = od.series_payload(out, "debian-linux")
        auth = {"Authorization": f"Token {q.bot_token}"}
        rsp = requests.post(f"{q.url}/api/cocci/series/", json=payload, headers=auth,
                            timeout=60)
        assert rsp.status_code == 201, rsp.text
        series = rsp.json()
        check = requests.post(f"{q.url}/api/1.2/series/{series['id']}/checks/", headers=auth,
                              json={"context": "build", "state": "success",
                                    "description": "build PASS"}, timeout=10)
        assert check.status_code == 201
        yield q, series


def pwclient(q, home: Path, backend: str, *args: str, check: bool = True,
             user: str | None = None) -> proc.Result:
    home.mkdir(exist_ok=True)
    if backend == "rest":
        creds = f"url = {q.url}/api/1.2/\nbackend = rest\ntoken = {q.maintainer_token}\n"
    else:
        creds = (f"url = {q.url}/xmlrpc/\nbackend = xmlrpc\nusername = {user or q.maintainer}"
                 f"\npassword = {PASSWORD}\n")
    (home / ".pwclientrc").write_text(f"[options]\ndefault = debian-linux\n\n"
                                      f"[debian-linux]\n{creds}")
    return proc.run([PWCLIENT, *args], check=check, timeout=120,
                    env={"HOME": str(home), "PAGER": "cat", "COLUMNS": "200"})


@pytest.mark.parametrize("backend", ["rest", "xmlrpc"])
def test_list_sees_every_patch_across_pages(queue, tmp_path, backend):
    q, series = queue
    out = pwclient(q, tmp_path / backend, backend, "list").stdout
    ids = {p["id"] for p in series["patches"]}
    listed = {int(line.split()[0]) for line in out.splitlines()
              if line.split() and line.split()[0].isdigit()}
    assert ids <= listed and len(ids) == PATCHES


@pytest.mark.parametrize("backend", ["rest", "xmlrpc"])
def test_hash_lookup_and_check_get(queue, tmp_path, backend):
    q, series = queue
    target = series["patches"][41]
    patch = requests.get(target["url"], timeout=10).json()
    listed = pwclient(q, tmp_path / backend, backend, "list", "-H", patch["hash"]).stdout
    rows = [li for li in listed.splitlines() if li.split() and li.split()[0].isdigit()]
    assert [int(r.split()[0]) for r in rows] == [target["id"]]
    if backend == "xmlrpc":   # pwclient 2.11's REST `-h` calls len() on a generator: its bug
        info = pwclient(q, tmp_path / backend, backend, "info", "-h", patch["hash"]).stdout
        assert f"- id            : {target['id']}" in info and patch["hash"] in info
    checks = pwclient(q, tmp_path / backend, backend, "check-get", str(target["id"])).stdout
    assert "build" in checks and "success" in checks     # the series' check covers the patch
    assert patch["check"] == "success"


def test_event_list_over_rest(queue, tmp_path):
    q, series = queue
    out = pwclient(q, tmp_path / "ev", "rest", "event-list").stdout
    created = [li for li in out.splitlines() if "patch-created" in li]
    assert len(created) >= PATCHES          # every page of the feed, not the first two
    assert "patch-completed" in out and "check-created" in out


def test_updates_and_accepting_every_patch_accepts_the_series(queue, tmp_path):
    q, series = queue
    ids = [str(p["id"]) for p in series["patches"]]
    d = str(q.data_dir)
    q.cli("serve", "--data-dir", d, "--create-project", "other-tree")
    q.cli("serve", "--data-dir", d, "--create-token", "maintainer", "other-maint",
          "--maintainer-of", "other-tree", "--password-stdin", input=PASSWORD + "\n")
    other = pwclient(q, tmp_path / "o", "xmlrpc", "update", "-s", "Accepted", ids[0],
                     check=False, user="other-maint")
    assert "maintainers" in other.stdout + other.stderr   # not a maintainer of this project
    patch = f"{q.url}/api/1.2/patches/{ids[0]}/"
    assert requests.get(patch, timeout=10).json()["state"] == "new"
    pwclient(q, tmp_path / "r", "rest", "update", "-s", "Under Review", ids[0])
    assert requests.get(patch, timeout=10).json()["state"] == "under-review"
    pwclient(q, tmp_path / "x", "xmlrpc", "update", "-s", "Accepted", *ids[:5])
    pwclient(q, tmp_path / "r", "rest", "update", "-s", "Accepted", *ids[5:])
    after = requests.get(series["url"], timeout=10).json()
    assert after["state"] == "accepted"      # as if accepted on the page: drafts are released
