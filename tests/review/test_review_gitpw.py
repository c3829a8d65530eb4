"""Acceptance: git-pw (from PyPI, unmodified) against the real server, as a maintainer uses it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from bot import proc

GIT_PW = str(Path(sys.executable).with_name("git-pw"))


@pytest.fixture(scope="module")
def checkout(posted, tmp_path_factory) -> Path:
    """A maintainer's clone of the tree, at the series' base."""
    dest = tmp_path_factory.mktemp("maint") / "linux"
    proc.run(["git", "clone", "-q", str(posted["tree"]), str(dest)])
    return dest


def git_pw(live_queue, cwd: Path, *args: str, token: str | None = None, check: bool = True):
    argv = [GIT_PW, "--server", f"{live_queue.url}/api/1.2", "--project", "debian-linux",
            "--token", token or live_queue.maintainer_token, *args]
    return proc.run(argv, cwd=cwd, check=check, timeout=60,
                    env={"GIT_PAGER": "cat", "PAGER": "cat", "COLUMNS": "200"})


def test_series_list_and_show(live_queue, posted, checkout):
    out = git_pw(live_queue, checkout, "series", "list", "-f", "csv").stdout
    for sid in posted["ids"]:
        assert f'"{sid}"' in out
    assert "kvm-refcounted-pfn on v5.10.223" in out
    show = git_pw(live_queue, checkout, "series", "show", "-f", "csv", str(posted["ids"][0]))
    assert '"Received","2 of 2"' in show.stdout.replace(" ", " ")
    assert "KVM: mark only refcounted pages dirty" in show.stdout


def test_series_download(live_queue, posted, checkout, tmp_path):
    git_pw(live_queue, checkout, "series", "download", str(posted["ids"][0]), str(tmp_path))
    mboxes = list(tmp_path.glob("*.patch"))    # named as Patchwork names it: <name>.patch
    assert len(mboxes) == 1 and mboxes[0].name == "kvm-refcounted-pfn-on-v5.10.223.patch"
    assert mboxes[0].read_text().count("Subject: [PATCH ") == 2


def test_series_apply_onto_a_real_tree(live_queue, posted, checkout):
    base = proc.run(["git", "rev-parse", "HEAD"], cwd=checkout).stdout.strip()
    git_pw(live_queue, checkout, "series", "apply", str(posted["ids"][0]))
    log = proc.run(["git", "log", "--format=%s", f"{base}..HEAD"], cwd=checkout).stdout
    assert log.splitlines() == ["KVM: mark only refcounted pages dirty",
                                "KVM: use kvm_pfn_to_refcounted_page() to release pages"]
    text = (checkout / "virt" / "kvm" / "kvm_main.c").read_text()
    assert "kvm_is_reserved_pfn" not in text and text.count("kvm_pfn_to_refcounted_page") == 2


def test_patch_list_by_state_and_update_with_maintainer_token(live_queue, posted, checkout):
    listed = git_pw(live_queue, checkout, "patch", "list", "-f", "csv", "--state",
                    "superseded").stdout
    v1_patch = next(line for line in listed.splitlines()[1:] if "refcounted" in line)
    pid = v1_patch.split(",")[0].strip('"')
    assert "superseded" in v1_patch
    refused = git_pw(live_queue, checkout, "patch", "update", "--state", "accepted", pid,
                     token=live_queue.bot_token, check=False)
    assert refused.returncode != 0
    assert "only maintainers" in refused.stdout + refused.stderr
    done = git_pw(live_queue, checkout, "patch", "update", "--state", "deferred", "-f", "csv",
                  pid)
    assert '"State","deferred"' in done.stdout
    listed = git_pw(live_queue, checkout, "patch", "list", "-f", "csv", "--state",
                    "deferred").stdout
    assert f'"{pid}"' in listed


def test_series_list_since_uses_the_mails_date(live_queue, posted, checkout):
    out = git_pw(live_queue, checkout, "series", "list", "-f", "csv", "--since",
                 "2000-01-01T00:00:00").stdout
    assert all(f'"{sid}"' in out for sid in posted["ids"])
    future = git_pw(live_queue, checkout, "series", "list", "-f", "csv", "--since",
                    "2999-01-01T00:00:00").stdout
    assert not any(f'"{sid}"' in future for sid in posted["ids"])
    series = requests.get(f"{live_queue.url}/api/1.2/series/{posted['ids'][0]}/",
                          timeout=10).json()
    assert series["date"] == series["cover_letter"]["date"]   # the cover letter's Date


def test_patch_download_diff(live_queue, posted, checkout, tmp_path):
    series = requests.get(f"{live_queue.url}/api/1.2/series/{posted['ids'][0]}/",
                          timeout=10).json()
    pid = series["patches"][1]["id"]
    git_pw(live_queue, checkout, "patch", "download", "--diff", str(pid), str(tmp_path))
    diffs = list(tmp_path.glob("*.diff"))      # through /patch/N/raw/, named by the server
    assert len(diffs) == 1
    text = diffs[0].read_text()
    assert text.startswith("diff --git a/virt/kvm/kvm_main.c") and "Subject:" not in text
    git_pw(live_queue, checkout, "patch", "download", "--mbox", str(pid), str(tmp_path))
    assert "Subject: [PATCH 2/2]" in next(tmp_path.glob("*.patch")).read_text()


def test_bundle_create_and_list(live_queue, posted, checkout):
    series = requests.get(f"{live_queue.url}/api/1.2/series/{posted['ids'][1]}/",
                          timeout=10).json()
    ids = [str(p["id"]) for p in series["patches"]]
    made = git_pw(live_queue, checkout, "bundle", "create", "--public", "-f", "csv",
                  "to-apply", *ids).stdout
    assert '"Name","to-apply"' in made
    listed = git_pw(live_queue, checkout, "bundle", "list", "-f", "csv").stdout
    assert "to-apply" in listed and "maint" in listed
    bundles = requests.get(f"{live_queue.url}/api/1.2/bundles/", timeout=10).json()
    bundle = next(b for b in bundles if b["name"] == "to-apply")
    assert [p["id"] for p in bundle["patches"]] == [int(i) for i in ids]
    page = requests.get(bundle["web_url"], timeout=10)
    assert page.status_code == 200 and "KVM: mark only refcounted pages dirty" in page.text
    assert requests.get(bundle["mbox"], timeout=10).text.count("Subject: [PATCH ") == 2


def test_accepting_every_patch_accepts_the_series(live_queue, checkout, tmp_path):
    from review_fixtures import add_build_boot, make_outdir

    out = make_outdir(tmp_path, extra_patch_text=" (to accept)")
    add_build_boot(out)
    url = live_queue.cli("post", "--queue", live_queue.url, "--token", live_queue.bot_token,
                         str(out)).stdout.strip()
    sid = url.rstrip("/").rsplit("/", 1)[1]
    api = f"{live_queue.url}/api/1.2/series/{sid}/"
    patches = [str(p["id"]) for p in requests.get(api, timeout=10).json()["patches"]]
    git_pw(live_queue, checkout, "patch", "update", "--state", "accepted", patches[0])
    assert requests.get(api, timeout=10).json()["state"] == "new"     # one of two: not yet
    git_pw(live_queue, checkout, "patch", "update", "--state", "accepted", patches[1])
    assert requests.get(api, timeout=10).json()["state"] == "accepted"
    events = requests.get(f"{live_queue.url}/series/{sid}/", timeout=10).text
    assert "(every patch is)" in events
