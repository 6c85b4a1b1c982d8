"""Helpers shared by the browser tests (pytest-playwright on Debian's Chromium)."""

from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Log in through the real form and wait for the header navigation."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#nav-items")).to_be_visible()
    page.wait_for_load_state("load")  # the page's scripts (keyboard shortcuts) are listening


def login_in(page, live_server, username: str, lang: str) -> None:
    """Choose the language on the login page (a cookie), then log in through the form."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    if lang != "en":
        page.click(f"#language-switch [data-lang={lang}]")
        expect(page.locator("html")).to_have_attribute("lang", lang)
    login(page, live_server, username)
