"""Signing in, in a real browser: an account without a role ends on the public pages, told why,
with nothing in the console; the sign-in page's own link does not grow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from core.ui import NO_ROLE_YET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    # The ORM (fixtures and database teardown included) runs beside Playwright's event loop in this
    # thread as ordinary synchronous code: tell Django not to object, for this module only.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (Debian package chromium).")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def test_an_account_without_a_role_lands_on_the_public_pages(page: Page, live_server: Any, outsider: Any) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/records/")  # a team page: sign in first
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Sign in").click()  # the sign-in page's own link, twice
    assert page.url == f"{live_server.url}/accounts/login/?next=%2Frecords%2F"
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", outsider.username)
    page.fill("#id_password", "pw-" + outsider.username)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/public/")
    expect(page.get_by_role("status")).to_have_text(NO_ROLE_YET)
    page.wait_for_load_state("networkidle")
    assert problems == []
