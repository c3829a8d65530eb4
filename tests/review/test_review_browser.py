"""A real Chromium (Debian's, driven by Playwright) on the real server: log in, open a series,
read a diff, accept it, see the state change and the event. No JavaScript of ours involved."""

from __future__ import annotations

import shutil

import pytest
from review_fixtures import make_crafted_outdir

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: run deploy/setup.sh (apt package chromium)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            java_script_enabled=False)
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.fixture(scope="module")
def crafted(live_queue, tmp_path_factory) -> int:
    out = make_crafted_outdir(tmp_path_factory.mktemp("crafted"))
    url = live_queue.cli("post", "--queue", live_queue.url, "--token", live_queue.bot_token,
                         str(out)).stdout.strip()
    return int(url.rstrip("/").rsplit("/", 1)[1])


def test_review_a_series_in_a_browser(live_queue, posted, page, tmp_path):
    sid = posted["ids"][1]
    page.goto(f"{live_queue.url}/login/")
    page.fill("input[name=username]", live_queue.maintainer)
    page.fill("input[name=password]", live_queue.password)
    page.click("button[type=submit]")
    assert page.text_content("#whoami") == live_queue.maintainer
    page.goto(f"{live_queue.url}/")
    page.click(f"a[href='/series/{sid}/']")
    assert page.url.endswith(f"/series/{sid}/")
    added = page.locator("#patch-2 pre.diff span.add").all_text_contents()
    assert any("kvm_pfn_to_refcounted_page(pfn)) /* v2 */" in t for t in added)
    assert page.locator("#range-diff").is_visible()
    page.fill("textarea[name=comment]", "Looks right; applied to kvm/next.")
    page.click("button[value=accept]")
    assert page.url.endswith(f"/series/{sid}/")
    assert page.text_content("#series-state") == "Accepted"
    events = page.locator("#events li").all_text_contents()
    assert any(f"{live_queue.maintainer} · series-state-changed" in e and "Accepted" in e
               for e in events), events
    assert "Looks right; applied to kvm/next." in page.text_content("#comments")
    page.screenshot(path=str(tmp_path / "series.png"), full_page=True)


def test_crafted_patch_does_not_run_in_the_browser(live_queue, crafted, page):
    page.goto(f"{live_queue.url}/series/{crafted}/")
    assert page.locator("#patches script, #patches img").count() == 0
    assert "<script>window.pwned=2</script>" in page.text_content("#patch-2 pre.diff")
    assert "<img src=x onerror=window.pwned=1>" in page.text_content("#patch-1 h3")


def test_todo_bulk_decision_and_own_token_in_a_browser(live_queue, crafted, page):
    import re

    if not page.locator("#whoami").count():
        page.goto(f"{live_queue.url}/login/")
        page.fill("input[name=username]", live_queue.maintainer)
        page.fill("input[name=password]", live_queue.password)
        page.click("button[type=submit]")
    page.goto(f"{live_queue.url}/todo/")
    count = int(page.text_content("#todo-count"))
    assert count >= 1 and page.text_content("#todo-link") == f"To do ({count})"
    page.check(f"input[name=series][value='{crafted}']")
    page.click("#bulk button[value=reject]")
    assert page.url.endswith("/todo/")
    assert int(page.text_content("#todo-count")) == count - 1
    page.goto(f"{live_queue.url}/series/{crafted}/")
    assert page.text_content("#series-state") == "Rejected"
    page.click("#whoami")
    page.click("#create-token")
    assert re.fullmatch(r"[0-9a-f]{40}", page.text_content("#new-token"))


def test_logout_ends_the_session(live_queue, page):
    page.goto(f"{live_queue.url}/")
    if page.locator("#whoami").count():
        page.click("header button[type=submit]")
    page.goto(f"{live_queue.url}/series/1/")
    assert page.locator("#review").count() == 0 and page.locator("#whoami").count() == 0
