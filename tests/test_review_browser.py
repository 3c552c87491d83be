"""End to end in a real headless Chromium (Debian's package, driven by Playwright): sign in, open the
queue, open a case, take it, add a note, close it, see the audit entries.

`make test` installs chromium when it runs as root on a machine without it; elsewhere this test
skips with the reason.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from cases import testing
from cases.review_app import ReviewSettings, create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[test])"
)
if not CHROMIUM.exists():
    pytest.skip(
        f"no browser at {CHROMIUM}: run `make test` as root (it apt-installs chromium) or "
        "`apt-get install chromium`",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The review app on a real uvicorn server in a thread."""
    lake, cases_path, _ = testing.build(tmp_path)
    port = _free_port()
    config = uvicorn.Config(
        create_app(ReviewSettings(cases_path, lake)), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=5)


def test_analyst_takes_notes_and_closes_a_case_in_a_browser(server: str) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=15_000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(5_000)
            page.goto(f"{server}/")
            assert page.url.endswith("/login")
            page.fill("input[name=name]", "ann")
            page.click("button[type=submit]")
            sync_api.expect(page.locator("h1")).to_have_text("Case queue")
            rows = page.locator("table.queue tbody tr")
            assert rows.count() == 2
            page.click('a[href="/cases/1"]')
            sync_api.expect(page.locator("#case-status")).to_have_text("new")
            # The hub's hostile id is shown as text, and nothing ran (the page has no script at all).
            assert testing.HUB in page.locator("h1").inner_text()
            assert page.evaluate("document.scripts.length") == 0
            page.click("#take")
            sync_api.expect(page.locator("#case-assignee")).to_have_text("ann")
            sync_api.expect(page.locator("#case-status")).to_have_text("in review")
            page.fill("textarea[name=body]", "payers share one device; asked the branch")
            page.click("#add-note")
            sync_api.expect(page.locator("#notes")).to_contain_text("payers share one device")
            page.select_option("#close-form select[name=action]", "close_reported")
            page.fill("#close-form input[name=reason]", "STR filed with the FIU")
            page.click("#close")
            sync_api.expect(page.locator("#case-status")).to_have_text("closed: reported")
            actions = page.locator("#audit .audit-action").all_inner_texts()
            assert actions == ["created", "take", "note", "close_reported"]
            assert page.locator("#audit").inner_text().count("ann") >= 3
        finally:
            browser.close()
