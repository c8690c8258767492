"""The console in a real browser (Debian's chromium through Playwright), with screenshots.

Screenshots go to ``build/screenshots/`` (ignored by git); the guide's images in
docs/img/ are copies of some of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright import sync_api as playwright_sync

from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.web.app import create_app
from tests.disclosure.helpers import SUSPECT, key_of
from tests.officers_support import PASSWORD, code
from tests.web.support import WATCH_XSS, ConsoleHome, pdf_lines, standing_watchlist

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

pytestmark = pytest.mark.browser


@pytest.fixture
def served(home: ConsoleHome) -> Iterator[str]:
    """The console of ``home`` on 127.0.0.1 (a free port), for the duration of one test."""
    app = create_app(NodeHome(home.root), NodeConfig(agency_id="ke-kws", country="KE"))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    server.config.install_signal_handlers = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the console did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM.exists(), (
        "Debian's chromium is missing: run scripts/bootstrap (it installs it with apt-get)"
    )
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def login(browser: object, base: str, home: ConsoleHome, name: str, steps_ahead: int = 0) -> object:
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=code]", code(home.node.conn, name, steps_ahead))
    page.click("form.login button")
    page.wait_for_url(f"{base}/tickets")
    return page


class TestInTheBrowser:
    def test_sign_in_with_totp(self, served: str, home: ConsoleHome, browser: object) -> None:
        """An officer signs in with password and TOTP code and lands on the inbox."""
        context = browser.new_context()  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{served}/login")
        shot(page, "login")
        page.fill("input[name=name]", "Adv. Wanjiru")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=code]", code(home.node.conn, "Adv. Wanjiru"))
        page.click("form.login button")
        page.wait_for_url(f"{served}/tickets")
        assert "Adv. Wanjiru" in page.inner_text("header")

    def test_two_officers_approve_end_to_end(
        self, served: str, home: ConsoleHome, browser: object
    ) -> None:
        """Two officers in two browsers approve a ticket; the second approval releases it."""
        (item,) = home.node.disclose(
            (key_of(SUSPECT, "passport"),), justification=f"Ivory seizure, see {XSS}"
        ).items
        first = login(browser, served, home, "Adv. Wanjiru")
        first.click(f"text={item.ticket_id}")  # type: ignore[attr-defined]
        shot(first, "ticket")
        assert first.evaluate("window.__pwned === undefined")  # type: ignore[attr-defined]
        assert XSS in first.inner_text("blockquote.free-text")  # type: ignore[attr-defined]
        first.click("button.approve")  # type: ignore[attr-defined]
        assert "second, different officer" in first.inner_text("main")  # type: ignore[attr-defined]
        second = login(browser, served, home, "Adv. Kamau")
        second.goto(f"{served}/tickets/{item.ticket_id}")  # type: ignore[attr-defined]
        second.fill("textarea[name=reason]", "proportionate and necessary")  # type: ignore[attr-defined]
        second.click("button.approve")  # type: ignore[attr-defined]
        text = second.inner_text("main")  # type: ignore[attr-defined]
        assert "Approved" in text
        shot(second, "ticket-approved")

    def test_policy_edit_refused_by_a_failing_case_and_redline(
        self, served: str, home: ConsoleHome, browser: object
    ) -> None:
        """A draft that fails a case test cannot be activated; a good one shows its redline."""
        author = login(browser, served, home, "Adv. Wanjiru")
        author.goto(f"{served}/policy/editor?file=rules.yaml")  # type: ignore[attr-defined]
        text = author.input_value("#policy-text")  # type: ignore[attr-defined]
        author.fill("#policy-text", text.replace("kind: [shipment]", "kind: [organisation]", 1))  # type: ignore[attr-defined]
        author.press("#policy-text", "End")  # type: ignore[attr-defined]
        author.wait_for_selector("#problems li.problem")  # type: ignore[attr-defined]
        assert "a shipment is released at once" in author.inner_text("#problems")  # type: ignore[attr-defined]
        shot(author, "editor-case-fails")
        author.click("#save-draft")  # type: ignore[attr-defined]
        author.wait_for_url("**/policy/drafts/*")  # type: ignore[attr-defined]
        draft_url = author.url  # type: ignore[attr-defined]
        reviewer = login(browser, served, home, "Adv. Kamau")
        reviewer.goto(draft_url)  # type: ignore[attr-defined]
        reviewer.click("#activate")  # type: ignore[attr-defined]
        assert "case test fails" in reviewer.inner_text("main")  # type: ignore[attr-defined]
        shot(reviewer, "activation-refused")

        author.goto(f"{served}/policy/editor?file=reference.yaml")  # type: ignore[attr-defined]
        ref = author.input_value("#policy-text")  # type: ignore[attr-defined]
        author.fill("#policy-text", ref.replace("expires: 2035-04-30", "expires: 2026-12-20", 1))  # type: ignore[attr-defined]
        author.click("#save-draft")  # type: ignore[attr-defined]
        author.wait_for_url("**/policy/drafts/*")  # type: ignore[attr-defined]
        reviewer.goto(author.url)  # type: ignore[attr-defined]
        reviewer.click("#activate")  # type: ignore[attr-defined]
        reviewer.wait_for_url(f"{served}/policy/versions")  # type: ignore[attr-defined]
        reviewer.click("text=Show the redline")  # type: ignore[attr-defined]
        assert reviewer.inner_text("del") == "2035-04-30"  # type: ignore[attr-defined]
        assert reviewer.inner_text("ins") == "2026-12-20"  # type: ignore[attr-defined]
        shot(reviewer, "redline")
        with reviewer.expect_download() as download:  # type: ignore[attr-defined]
            reviewer.click("#redline-pdf")  # type: ignore[attr-defined]
        pdf = Path(download.value.path()).read_bytes()
        lines = pdf_lines(pdf)
        where = lines.index("instruments / KE-VN-MoU-2024 / expires")
        assert lines[where + 1 : where + 3] == ["2035-04-30", "2026-12-20"]
        reviewer.emulate_media(media="print")  # type: ignore[attr-defined]
        assert not reviewer.is_visible("header.top")  # type: ignore[attr-defined]
        assert reviewer.is_visible("table.redline")  # type: ignore[attr-defined]
        shot(reviewer, "redline-print")
        reviewer.emulate_media(media="screen")  # type: ignore[attr-defined]
        reviewer.goto(f"{served}/policy")  # type: ignore[attr-defined]
        shot(reviewer, "policy-document")

    def test_chart_is_rendered(self, served: str, home: ConsoleHome, browser: object) -> None:
        """The oversight page draws one bar per day in an SVG chart."""
        home.node.disclose((key_of(SUSPECT, "passport"),))
        page = login(browser, served, home, "Adv. Wanjiru")
        page.goto(f"{served}/oversight")  # type: ignore[attr-defined]
        assert page.locator("svg#chart rect").count() == 14  # type: ignore[attr-defined]
        assert page.locator("#audit-ok").is_visible()  # type: ignore[attr-defined]
        shot(page, "oversight")

    def test_watchlist_hits_are_listed_and_inert(
        self, served: str, home: ConsoleHome, browser: object
    ) -> None:
        """The watchlists page lists the new hit per counterpart; a counterpart's text is inert."""
        standing_watchlist(home)
        page = login(browser, served, home, "Adv. Wanjiru")
        page.click("header nav >> text=Watchlists")  # type: ignore[attr-defined]
        page.wait_for_url(f"{served}/watchlists")  # type: ignore[attr-defined]
        assert "2026-12-01T08:00:07+00:00" in page.inner_text("td.found-at")  # type: ignore[attr-defined]
        assert WATCH_XSS in page.inner_text("main")  # type: ignore[attr-defined]
        assert page.locator("main img").count() == 0  # type: ignore[attr-defined]
        shot(page, "watchlists")

    def test_new_authenticator_through_a_qr_code(
        self, served: str, home: ConsoleHome, browser: object
    ) -> None:
        """The account page shows the new secret as a QR image; the new app's code switches it."""
        import pyotp

        page = login(browser, served, home, "Adv. Kamau")
        page.click("header .who a")  # type: ignore[attr-defined]
        page.wait_for_url(f"{served}/account")  # type: ignore[attr-defined]
        page.fill("#totp-start input[name=password]", PASSWORD)  # type: ignore[attr-defined]
        page.fill("#totp-start input[name=code]", code(home.node.conn, "Adv. Kamau", 1))  # type: ignore[attr-defined]
        page.click("#totp-start button")  # type: ignore[attr-defined]
        page.wait_for_selector("#totp-qr")  # type: ignore[attr-defined]
        drawn = page.evaluate("document.querySelector('#totp-qr').naturalWidth")  # type: ignore[attr-defined]
        assert drawn > 0  # the browser decoded the SVG QR code
        secret = page.inner_text("#totp-secret")  # type: ignore[attr-defined]
        assert f"secret={secret}" in page.inner_text("#totp-uri")  # type: ignore[attr-defined]
        shot(page, "account-totp")
        page.fill("#totp-confirm input[name=new_code]", pyotp.TOTP(secret).now())  # type: ignore[attr-defined]
        page.click("#totp-confirm button")  # type: ignore[attr-defined]
        assert page.is_visible("#totp-replaced")  # type: ignore[attr-defined]
