"""The console in a real browser: the distribution's Chromium (``/usr/bin/chromium``, driven
by Playwright; ``playwright install`` is never run).  An officer logs in, a referral from a
simulated lane appears live, the officer opens it (document photo beside the crop), records
a decision; the audit log shows the crop view and the decision; an auditor gets no crop; a
logged-out page redirects; five wrong passwords lock an account.  The referral page is saved
as a PNG: into the test's temporary folder, or, with ``LANECAM_DOCS_SCREENSHOTS=1``, as
docs/console.png for the README (a test run never edits the checkout by itself)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_site import PASSWORD, Site

pytestmark = pytest.mark.timeout(120)

DOCS_SHOT = Path(__file__).parents[2] / "docs" / "console.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    return os.environ.get("LANECAM_CHROMIUM") or shutil.which("chromium") or next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
        None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the console extra")
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; CI installs it)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=ARGS)
        yield b
        b.close()


def log_in(browser: Any, site: Site, user: str, password: str = PASSWORD) -> Any:
    ctx = browser.new_context(ignore_https_errors=True, viewport={"width": 1100, "height": 760})
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    page.goto(site.url + "/login")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("#login")
    return page


def test_officer_decides_a_live_referral_and_the_audit_shows_it(
        browser: Any, site: Site, tmp_path: Path) -> None:
    t0 = time.monotonic()
    page = log_in(browser, site, "officer-1")
    page.wait_for_selector("#referrals")
    assert "drained 0" in site.emit("north-1", 100, 1, 1)
    row = page.wait_for_selector("#referrals tbody tr:has-text('north-1-100')")  # live
    assert page.locator("#lane-north-1 tr:has-text('north-1-100')").count() == 1
    row.query_selector("a").click()
    page.wait_for_selector("#crop")
    page.wait_for_function("document.getElementById('crop').naturalWidth > 0 && "
                           "document.getElementById('document').naturalWidth > 0")
    assert page.text_content("#quality") == "71.5"
    shot = DOCS_SHOT if os.environ.get("LANECAM_DOCS_SCREENSHOTS") else tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.check("#d-recapture")
    page.fill("#reason", "glare over the eyes")
    page.click("#record")
    page.wait_for_url(site.url + "/")
    assert page.locator("#referrals tbody tr:has-text('north-1-100')").count() == 0

    sup = log_in(browser, site, "super-1")
    sup.goto(site.url + "/audit")
    audit = sup.text_content("#audit")
    assert audit is not None and "officer-1" in audit
    rows = sup.locator("#audit tbody tr").all_inner_texts()
    mine = [r for r in rows if "officer-1" in r]
    assert any("\tread\t" in r for r in mine)
    assert any("decision" in r and "recapture: glare over the eyes" in r for r in mine)

    aud = log_in(browser, site, "auditor-1")
    aud.wait_for_url(site.url + "/audit")
    assert "officer-1" in (aud.text_content("#audit") or "")
    resp = aud.goto(site.url + "/referrals/" + _some_referral(sup, site))
    assert resp is not None and resp.status == 403
    assert aud.locator("img").count() == 0
    print(f"browser test: {time.monotonic() - t0:.1f} s")


def _some_referral(page: Any, site: Site) -> str:
    """A referral id the supervisor sees (made by a simulated lane)."""
    assert "drained 0" in site.emit("north-1", 200, 1, 1)
    page.goto(site.url + "/")
    link = page.wait_for_selector("#referrals tbody tr:has-text('north-1-200') a")
    href = link.get_attribute("href")
    assert href is not None
    return href.rsplit("/", 1)[1]


def test_logged_out_redirects_and_five_wrong_passwords_lock(browser: Any, site: Site) -> None:
    ctx = browser.new_context(ignore_https_errors=True)
    page = ctx.new_page()
    page.goto(site.url + "/health")
    assert page.url == site.url + "/login"
    for _ in range(5):
        page.fill("#user", "locked-1")
        page.fill("#password", "wrong")
        page.click("#login")
        page.wait_for_selector("#error")
    page.fill("#user", "locked-1")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#error")
    assert page.url == site.url + "/login"
