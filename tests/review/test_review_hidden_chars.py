"""Every bidirectional, control and invisible format character posted through every field a
client controls comes back on every page as a visible marker: never raw, in text, attributes,
headings, titles or URLs (the "Trojan Source" and spoofing tricks)."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from django.test import Client
from review_fixtures import make_outdir

from bot.post import outdir as od
from bot.review.text import _HIDDEN

pytestmark = pytest.mark.django_db

# the ones the probe found, and more of each kind: bidi overrides and isolates, C0 and C1
# controls, DEL, the Arabic letter mark, zero-width and byte-order marks, line separators
LINE_SAFE = "\u202e\u202c\x1b\x07\x7f\u061c\u200f\u2066\u2069\ufeff\u200b\u00ad\x9b\x08"
EVIL = LINE_SAFE + "\x0b\x0c\u2028\u2029\x85\x1c\r"
MARKERS = ("\u27e6U+202E\u27e7", "\u27e6U+061C\u27e7", "\u27e6U+001B\u27e7",
           "\u27e6U+0007\u27e7", "\u27e6U+007F\u27e7", "\u27e6U+202C\u27e7")


def poisoned_payload(out) -> dict:
    body = od.series_payload(out, "debian-linux")
    mails = []
    for mail in body["patches"]:
        mail = re.sub(r"^Subject: (.*)$", lambda m: f"Subject: {m.group(1)} {LINE_SAFE}", mail,
                      count=1, flags=re.M)
        mail = re.sub(r"^From: (.*) <", lambda m: f"From: {m.group(1)}{LINE_SAFE} <", mail,
                      count=1, flags=re.M)
        mail = mail.replace("Signed-off-by", f"{EVIL}\n\nSigned-off-by", 1)
        mail = mail.replace("(pfn))\n", f"(pfn)) /* {LINE_SAFE} */\n")   # in the diff
        mails.append(mail)
    body["patches"] = mails
    body["cover"] = re.sub(r"^Subject: (.*)$", lambda m: f"Subject: {m.group(1)} {LINE_SAFE}",
                           body["cover"], count=1, flags=re.M).replace(
        "*** BLURB HERE ***", f"blurb {EVIL}")
    report = body["report"]
    report.update(campaign=f"kvm{LINE_SAFE}", tag=f"v5.10{EVIL}")
    for site in report["sites"]:
        for key in ("file", "function", "expression", "class", "outcome", "step"):
            site[key] = f"{site[key]}{EVIL}"
        site["line"] = f"{site['line']}{EVIL}"
    for step in report["steps"]:
        step.update(name=f"{step['name']}{EVIL}", cocci=f"{step['cocci']}{EVIL}",
                    commit=f"{step['commit']}{EVIL}")
    body["range_diff"] = f"1:  abc = 1:  abc subject {EVIL}\n"
    body["site_delta"] = {"appeared": [f"new.c:1 {EVIL}"], "vanished": [], "changed": []}
    return body


def assert_no_raw(html: str, where: str) -> None:
    raw = sorted({f"U+{ord(c):04X}" for c in _HIDDEN.findall(html)})
    assert not raw, f"{where} carries raw {', '.join(raw)}"


def test_every_hidden_character_is_a_marker_on_every_page(project, bot_api, maintainer_api,
                                                          tmp_path):
    rsp = bot_api.post("/api/cocci/series/", poisoned_payload(make_outdir(tmp_path)),
                       format="json")
    assert rsp.status_code == 201, rsp.content
    sid, patches = rsp.json()["id"], rsp.json()["patches"]
    check = {"context": "build", "state": "warning", "description": f"desc {EVIL}",
             "target_url": f"https://ci.example.org/{LINE_SAFE}", "log": f"log {EVIL}"}
    assert bot_api.post(f"/api/1.2/series/{sid}/checks/", check,
                        format="json").status_code == 201
    assert bot_api.post(f"/api/1.2/patches/{patches[0]['id']}/checks/",
                        {**check, "context": "checkpatch", "log": ""},
                        format="json").status_code == 201
    assert bot_api.post(f"/api/cocci/series/{sid}/comments/", {"content": f"sent {EVIL}"},
                        format="json").status_code == 201
    assert maintainer_api.post(f"/api/cocci/series/{sid}/state/",
                               {"state": "under-review", "comment": f"looking {EVIL}"},
                               format="json").status_code == 200
    bundle = f"b{LINE_SAFE}"
    assert maintainer_api.post("/api/1.2/bundles/", {"name": bundle, "public": True, "patches": [
        p["id"] for p in patches]}, format="json").status_code == 201
    evil_q = urllib.parse.quote(EVIL)
    pages = ["/", f"/?q={evil_q}&submitter={evil_q}&campaign={evil_q}",
             "/project/debian-linux/",
             f"/project/debian-linux/?q={evil_q}&submitter={evil_q}&campaign={evil_q}",
             f"/series/{sid}/", f"/bundle/maint/{urllib.parse.quote(bundle)}/",
             f"/login/?next={evil_q}"]
    seen = ""
    for url in pages:
        rsp = Client().get(url)
        assert rsp.status_code == 200, (url, rsp.status_code)
        html = rsp.content.decode()
        assert_no_raw(html, url)
        seen += html
    for marker in MARKERS:
        assert marker in seen, marker
    series = Client().get(f"/series/{sid}/").content.decode()
    assert re.search(r'<title>[^<]*\u27e6U\+202E\u27e7', series)            # the <title>
    assert any('title="ARABIC LETTER MARK"' in h for h in re.findall(r"<h3>.*?</h3>", series))
    assert 'href="https://ci.example.org/%E2%80%AE' in series               # a URL, encoded
    queue = Client().get("/").content.decode()
    assert re.search(r'title="build: desc [^"]*\u27e6U\+202E\u27e7', queue)  # an attribute
    searched = Client().get(f"/?q={evil_q}").content.decode()
    assert re.search(r'name="q" value="[^"]*\u27e6U\+0007\u27e7', searched)


def test_the_check_fails_on_a_raw_character():
    with pytest.raises(AssertionError, match="U\\+202E"):
        assert_no_raw("<p title=\"a\u202eb\">", "probe")


