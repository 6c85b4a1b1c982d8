"""Browser: reception types `zs` in the header box, sees 张三, opens the card and sees the
allergy warning; the keyboard alone gets there too."""

import pytest
from playwright.sync_api import expect

from tests.browser import login as _login
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clients(db):
    zhang = CustomerFactory(
        name="张三", phone="+8613800138000", allergies="对 PPD 染发剂过敏", tags=[TagFactory(name="VIP")]
    )
    CustomerFactory(name="张思远", phone="+8613900139000")
    CustomerFactory(name="李四", phone="+8613700137000")
    return zhang


def test_reception_finds_zhang_san_with_two_keystrokes(live_server, page, reception, clients):
    _login(page, live_server, "reception")
    page.locator("#header-search").press_sequentially("zs", delay=50)
    results = page.locator("#header-search-results a.search-result[data-customer]")
    expect(results.first).to_contain_text("张三")
    expect(results).to_have_count(2)  # 张三 (zs) then 张思远 (zsy); not 李四
    expect(results.nth(1)).to_contain_text("张思远")
    expect(results.first).to_contain_text("138 0013 8000")  # reception sees the full phone
    expect(results.first).to_contain_text("VIP")
    page.screenshot(path="test-results/customers-header-search.png")

    results.first.click()
    expect(page.locator("#client-name")).to_have_text("张三")
    expect(page.locator("#safety-warnings")).to_contain_text("对 PPD 染发剂过敏")


def test_keyboard_only(live_server, page, reception, clients):
    _login(page, live_server, "reception")
    box = page.locator("#header-search")
    box.press_sequentially("1380", delay=50)  # 138 0013 8000: '1380' is its prefix
    expect(page.locator("#header-search-results a.search-result[data-customer]").first).to_contain_text(
        "张三"
    )
    box.press("ArrowDown")
    expect(page.locator("#header-search-results a.search-result").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#client-name")).to_have_text("张三")


def test_stylist_sees_masked_phone_in_results(live_server, page, stylist, clients):
    _login(page, live_server, "stylist")
    page.locator("#header-search").press_sequentially("zs", delay=50)
    first = page.locator("#header-search-results a.search-result[data-customer]").first
    expect(first).to_contain_text("138****8000")
    expect(first).not_to_contain_text("0013")


def test_enter_in_the_box_opens_the_list(live_server, page, reception, clients):
    _login(page, live_server, "reception")
    box = page.locator("#header-search")
    box.fill("张")
    box.press("Enter")
    expect(page.locator("#client-list")).to_contain_text("张三")
    expect(page.locator("#client-list")).not_to_contain_text("李四")
    page.screenshot(path="test-results/customers-list.png")


def test_manager_merges_duplicates_and_sees_import_problems(live_server, page, manager, tmp_path):
    keep = CustomerFactory(name="张三", phone="+8613800138000")
    dup = CustomerFactory(name="张三", phone=None, email="zs@example.com", tags=[TagFactory(name="VIP")])
    _login(page, live_server, "manager")
    page.goto(f"{live_server.url}/customers/merge/?keep={keep.pk}&merge={dup.pk}")
    expect(page.locator("#merge-preview")).to_contain_text("customers.Customer.tags")
    page.screenshot(path="test-results/customers-merge-preview.png", full_page=True)
    page.click("#merge-confirm button[type=submit]")
    expect(page.locator("#client-name")).to_have_text("张三")

    bad = tmp_path / "clients.csv"
    bad.write_text(
        "external_id,name,phone,email,gender,birthday,skin_type,hair_type,allergies,notes,tags,first_seen\n"
        "A-1,李四,13900001111,,,1990-02-30,,,,,,\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/customers/import/")
    page.set_input_files("#id_file", str(bad))
    page.click("#import-upload button[type=submit]")
    expect(page.locator("#import-problems")).to_contain_text("birthday")
    expect(page.locator("#import-problems")).to_contain_text("Enter a date as YYYY-MM-DD")
    expect(page.locator("#import-confirm")).to_have_count(0)
    page.screenshot(path="test-results/customers-import-problems.png", full_page=True)
