"""Issue 9, item 8: accessibility in Chromium.

axe-core (tests/axe.py) runs on every main page, in English and in 简体中文, with realistic data:
the login page; the desk's Today, day calendar and its dialogs (book, appointment detail, move,
cancel, walk-in, waitlist), client list, client card (an allergy and a failed patch test: the
red safety banner), checkout and receipt; the stylist's day (an arrived and an in-service
appointment), service record and client card; the manager's Today, settings and every set-up
page linked from it (catalogue, opening hours, staff hours); every online booking step on a
390×844 phone up to the confirmation, the manage page and its move step. Any serious or
critical violation fails the test; every page is audited before it fails, so the message lists
them all. The reports are test-results/axe-<page>-<lang>.json, with a summary of the counts in
test-results/axe-summary-<lang>.json.

The stylist's pages (my day, service record, the card) keep their touch targets at least 44×44
CSS px on a 1024×768 tablet, and the site has a favicon."""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from appointments.services import BookingItem, appointment_book, appointment_check_in, appointment_start
from tests.appointments import fixtures_core
from tests.appointments.factories import ProductFactory
from tests.appointments.fixtures_core import DAY
from tests.axe import SERIOUS, assert_no_serious_violations
from tests.browser import login
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory, TagFactory

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ("en", "zh-hans")


class Audit:
    """Runs axe on a page as it stands; collects failures instead of stopping at the first."""

    def __init__(self, page, lang: str):
        self.page, self.lang = page, lang
        self.failures: list[str] = []
        self.counts: dict[str, dict[str, int]] = {}

    def __call__(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        expect(self.page.locator("html")).to_have_attribute("lang", self.lang)
        label = f"{name}-{self.lang}"
        try:
            violations = assert_no_serious_violations(self.page, label)
        except AssertionError as error:
            self.failures.append(str(error))
            violations = json.loads((Path(SHOTS) / f"axe-{label}.json").read_text(encoding="utf-8"))
        # axe's own violations hold "nodes"; the written report (after a failure) "targets"
        nodes = [(v["impact"], len(v.get("nodes", v.get("targets", [])))) for v in violations]
        serious = sum(n for impact, n in nodes if impact in SERIOUS)
        total = sum(n for _impact, n in nodes)
        self.counts[name] = {"serious": serious, "other": total - serious}  # nodes, by impact

    def finish(self) -> None:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        summary = Path(SHOTS) / f"axe-summary-{self.lang}.json"
        summary.write_text(json.dumps(self.counts, indent=1))
        assert not self.failures, "\n\n".join(self.failures)


def _close_dialog(page) -> None:
    page.locator("#dialog [data-bs-dismiss=modal]").first.click()
    expect(page.locator("#dialog")).to_be_hidden()


def _log_out(page) -> None:
    """The header's Log out (a POST): the session ends, the language cookie stays."""
    page.locator("form[action$='/logout/'] button[type=submit]").click()
    expect(page.locator("#login-form")).to_be_visible()


def _privacy_world(salon) -> None:
    """Retention of one year with a client idle since 2020 and another kept by a balance, and
    the desk's six files in an hour above a threshold of five (the banner)."""
    from django.utils import timezone

    from accounts.services import privacy_settings_update
    from customers.models import AccessLog
    from loyalty.models import LoyaltyAccount

    privacy_settings_update(by=None, retention_years=1, access_alert_threshold=5)
    long_ago = timezone.now() - timedelta(days=6 * 365)
    CustomerFactory(name="王小明 (idle)", created_at=long_ago)
    kept = CustomerFactory(name="李小红 (balance)", created_at=long_ago)
    LoyaltyAccount.objects.create(customer=kept, principal=100, created_at=long_ago)
    desk = salon.location.staff.get(role="receptionist").user
    AccessLog.objects.bulk_create(
        AccessLog(
            user=desk, customer=CustomerFactory(), action="view_file", at=timezone.now() - timedelta(hours=1)
        )
        for _ in range(6)
    )


def _book(salon, customer, staff, start, service=None):
    return appointment_book(
        customer=customer,
        location=salon.location,
        items=[BookingItem(service=service or salon.cut, staff=staff, start=start)],
        source="front_desk",
        booked_by=None,
        override_reason="asked at the desk",
    )


@pytest.fixture
def day_of_work(salon, reception, manager, on_the_day):
    """08:00 on DAY. 张三 (PPD allergy, failed patch test, a tag, a formula) has arrived for a cut
    at 10:00 with the stylist; 王五, booked at 12:00 with the stylist, is in the chair; 李四 has arrived for a cut at 11:00 with the other stylist (checked out in the test); 赵六 is
    booked at 14:00 with the other stylist."""
    ProductFactory(name="Olaplex No.3", kind="back_bar")
    ProductFactory(name="Wella Koleston 7/1", kind="back_bar")
    salon.location.phone = "021-6288 0000"
    salon.location.address = "上海市静安区南京西路 1 号"
    salon.location.save(update_fields=["phone", "address"])
    zhang = salon.customer
    zhang.allergies = "对 PPD 染发剂过敏 (PPD hair-dye allergy)"
    zhang.phone = "+8613800138000"
    zhang.save()
    zhang.tags.add(TagFactory(name="VIP", colour="#d4a017"))
    FormulaFactory(customer=zhang, stylist=salon.stylist, shades=[("7/1", 30), ("8/0", 15)])
    PatchTestFactory(customer=zhang, product="Wella Koleston (PPD)", result="failed")
    arrived = appointment_check_in(
        appointment=_book(salon, zhang, salon.stylist, salon.at(10)),
        by=reception.user,
        override_reason="here",
    )
    in_chair = _book(salon, CustomerFactory(name="王五"), salon.stylist, salon.at(12))
    appointment_check_in(appointment=in_chair, by=reception.user)
    appointment_start(appointment=in_chair, by=reception.user)
    to_pay = appointment_check_in(
        appointment=_book(salon, CustomerFactory(name="李四"), salon.other_stylist, salon.at(11)),
        by=reception.user,
    )
    booked = _book(salon, CustomerFactory(name="赵六"), salon.other_stylist, salon.at(14))
    return {"arrived": arrived, "in_chair": in_chair, "to_pay": to_pay, "booked": booked}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_axe_finds_nothing_serious_on_every_main_page(live_server, page, salon, day_of_work, owner, lang):
    url = live_server.url
    audit = Audit(page, lang)
    arrived, in_chair, to_pay, booked = (day_of_work[k] for k in ("arrived", "in_chair", "to_pay", "booked"))

    page.goto(f"{url}/login/")
    if lang != "en":
        page.click(f"#language-switch [data-lang={lang}]")
        expect(page.locator("html")).to_have_attribute("lang", lang)
    audit("login")

    # the front desk
    login(page, live_server, "reception")
    audit("today-desk")
    page.goto(f"{url}/calendar/?date={DAY.isoformat()}")
    expect(page.locator(f'.appt[data-appointment="{arrived.pk}"]')).to_be_visible()
    audit("calendar")
    page.click(f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-slot[data-time="15:00"]')
    expect(page.locator("#dialog #book-form")).to_be_visible()
    audit("calendar-book")
    _close_dialog(page)
    page.click(f'.appt[data-appointment="{arrived.pk}"]')
    expect(page.locator("#appointment-detail")).to_be_visible()
    audit("calendar-detail-arrived")
    _close_dialog(page)
    page.click(f'.appt[data-appointment="{booked.pk}"]')
    expect(page.locator("#appointment-detail")).to_be_visible()
    audit("calendar-detail")
    page.click("#act-move")
    expect(page.locator("#move-form")).to_be_visible()
    audit("calendar-move")
    _close_dialog(page)
    page.click(f'.appt[data-appointment="{booked.pk}"]')
    page.click("#act-cancel")
    expect(page.locator("#cancel-form")).to_be_visible()
    audit("calendar-cancel")
    _close_dialog(page)
    page.click("#walk-in-btn")
    expect(page.locator("#walk-in-form")).to_be_visible()
    audit("calendar-walk-in")
    _close_dialog(page)
    page.click("#waitlist-btn")
    expect(page.locator("#waitlist-form")).to_be_visible()
    audit("calendar-waitlist")
    _close_dialog(page)

    page.goto(f"{url}/calendar/week/?staff={salon.stylist.pk}&date={DAY.isoformat()}")
    expect(page.locator(".week-item").first).to_be_visible()
    audit("week")
    page.locator("#header-search").press_sequentially("zs", delay=50)
    expect(page.locator("#header-search-results .tag-badge").first).to_be_visible()
    audit("header-search")
    page.goto(f"{url}/customers/")
    audit("client-list")
    page.goto(f"{url}/customers/{salon.customer.pk}/edit/")
    audit("client-edit")
    page.goto(f"{url}/customers/{salon.customer.pk}/")
    expect(page.locator("#safety-warnings")).to_be_visible()
    audit("card-desk")
    page.goto(f"{url}/appointments/{to_pay.pk}/checkout/")
    expect(page.locator("#total-net")).to_have_text("200.00")
    audit("checkout")
    page.fill("#id_pay-0-amount", "200.00")
    page.click("#checkout-submit")
    expect(page.locator("#receipt-total")).to_have_text("200.00")
    audit("receipt")
    page.goto(f"{url}/checkout/")
    audit("product-sale")
    _log_out(page)

    # the stylist's tablet
    login(page, live_server, "stylist")
    page.goto(f"{url}/my-day/")
    expect(page.locator(f"#start-{arrived.items.get().pk}")).to_be_visible()
    audit("my-day")
    page.goto(f"{url}/my-day/items/{arrived.items.get().pk}/record/")
    audit("service-record")
    page.goto(f"{url}/my-day/items/{in_chair.items.get().pk}/record/")
    audit("service-record-in-chair")
    page.goto(f"{url}/customers/{salon.customer.pk}/")
    expect(page.locator("#safety-warnings")).to_be_visible()
    audit("card-stylist")
    _log_out(page)

    # the manager: Today, the settings page and every set-up page it links to
    login(page, live_server, "manager")
    expect(page.locator("#dashboard-cohorts")).to_be_visible()  # their home page: the dashboard
    audit("dashboard-home-manager")
    page.goto(f"{url}/today/")
    audit("today-manager")
    page.goto(f"{url}/customers/?class=segment-champions")  # the list's class filter
    audit("clients-class-filter")
    page.goto(f"{url}/settings/")
    audit("settings")
    links = page.eval_on_selector_all(
        "main a[href^='/settings/']", "els => els.map(e => e.getAttribute('href'))"
    )
    assert links
    for link in sorted({link.split("#")[0] for link in links}):
        page.goto(url + link)
        audit("settings" + link.rstrip("/").replace("/settings", "").replace("/", "-"))
    for name, path in (
        ("settings-staff-hours", reverse("appointments:staff_hours", args=[salon.stylist.pk])),
        ("settings-service-new", reverse("appointments:catalogue_services_new")),
        ("settings-service-edit", reverse("appointments:catalogue_services_edit", args=[salon.colour.pk])),
        # the revenue breakdowns' list behind a bar, and the bookings behind the no-show tile
        ("dashboard-visits", reverse("analytics:visits") + f"?staff={salon.stylist.pk}&location=all"),
        ("dashboard-no-shows", reverse("analytics:visits") + "?kind=no_show&location=all"),
        # campaigns (the preview and the results: tests/analytics/test_browser_campaigns.py)
        ("campaigns", reverse("analytics:campaigns")),
        ("campaign-new", reverse("analytics:campaign_new")),
        ("dashboard-at-risk", reverse("analytics:at_risk") + "?location=all&below=99"),
    ):
        page.goto(url + path)
        audit(name)
    _log_out(page)

    # the owner: Settings → Export all data (the whole-salon archive), and its unticked error
    login(page, live_server, "owner")
    page.goto(f"{url}/settings/")
    page.click("[data-settings-link=salon_export]")
    expect(page.locator("#export-form")).to_be_visible()
    audit("settings-export")
    page.click("#export-download")
    expect(page.locator("#id_confirm_error")).to_be_visible()
    audit("settings-export-error")
    _log_out(page)

    # privacy (issue 16): the owner's retention settings and list, the access log with an alert,
    # one client's export and erasure confirmations, and the page every role reads
    _privacy_world(salon)
    login(page, live_server, "owner")
    for name, path in (
        ("privacy", reverse("customers:privacy")),
        ("privacy-settings", reverse("customers:privacy_settings")),
        ("retention-list", reverse("customers:retention_list")),
        ("retention-kept", reverse("customers:retention_list") + "?list=kept"),
        ("access-log", reverse("customers:access_log")),
        ("access-log-errors", reverse("customers:access_log") + "?date_from=2026-13-01"),
        ("export-confirm", reverse("customers:export_confirm", args=[salon.customer.pk])),
        ("erase-confirm", reverse("customers:erase", args=[salon.customer.pk])),
    ):
        page.goto(url + path)
        audit(name)
    expect(page.locator("#erase-scope")).to_be_visible()
    page.goto(f"{url}/privacy/access-log/")
    expect(page.locator("#access-alerts")).to_be_visible()
    _log_out(page)

    # online booking on a phone, every step to the confirmation, the manage page and its move step
    page.set_viewport_size({"width": 390, "height": 844})
    day = DAY + timedelta(days=3)
    page.goto(f"{url}/book/{salon.location.code}/")
    audit("online-services")
    page.click(f"#online-services a[href='?service={salon.cut.pk}']")
    expect(page.locator("#any-stylist")).to_be_visible()
    audit("online-stylists")
    page.click(f"#online-stylists a[href='?service={salon.cut.pk}&staff={salon.stylist.pk}']")
    expect(page.locator("#online-slots")).to_be_visible()
    audit("online-days")
    page.click(f"#online-days a[data-date='{day.isoformat()}']")
    page.wait_for_url(f"**date={day.isoformat()}**")
    audit("online-slots")
    page.locator("#online-slots a", has_text="10:00").click()
    expect(page.locator("#id_name")).to_be_visible()
    audit("online-details")
    page.click("#online-book")  # empty: the form's errors
    audit("online-details-errors")
    page.fill("#id_name", "赵六")
    page.fill("#id_phone", "13700001234")
    page.click("#online-book")
    expect(page.locator("#booked-ok")).to_be_visible()
    audit("online-confirmation")
    page.reload()
    audit("online-manage")
    page.click("#manage-move")
    expect(page.locator("#online-days")).to_be_visible()
    audit("online-move")
    audit.finish()


# ---- touch targets ---------------------------------------------------------------------------

# What counts as a touch target: every visible <a href>, <button>, <summary>, <select>,
# <textarea> and <input> (not hidden) on the page, header included; a checkbox or radio is
# measured with its label (the label is part of the target: clicking it ticks the box). Not
# counted (WCAG 2.5.8's "inline" exception): a plain text link inside a sentence, that is a
# link without a button class whose box is inline inside a paragraph, list item, table cell or
# small print; and anything visually hidden (Bootstrap's .visually-hidden, zero size, hidden).
_TARGETS = """
() => {
  const out = [];
  const seen = new Set();
  const hidden = el => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || e.classList.contains('visually-hidden')) return true;
    }
    return false;
  };
  const sel = 'a[href], button, summary, select, textarea, input:not([type=hidden])';
  for (const el of document.querySelectorAll(sel)) {
    if (hidden(el)) continue;
    let target = el;
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      target = el.closest('label, .form-check') || (el.id && document.querySelector(`label[for="${el.id}"]`)) || el;
    }
    if (el.matches('a[href]') && !el.matches('.btn, .nav-link, .list-group-item, .navbar-brand, .dropdown-item, .page-link')
        && getComputedStyle(el).display === 'inline' && el.closest('p, li, td, dd, small, .small, .form-text')) continue;
    if (seen.has(target)) continue;
    seen.add(target);
    const r = target.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    out.push({tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40),
              width: Math.round(r.width * 10) / 10, height: Math.round(r.height * 10) / 10});
  }
  return out;
}
"""


def test_touch_targets_on_the_stylists_pages_are_44_px(live_server, browser, salon, day_of_work):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-US")
    page = context.new_page()
    login(page, live_server, "stylist")
    arrived, in_chair = day_of_work["arrived"], day_of_work["in_chair"]
    small = []
    pages = {
        "my-day": "/my-day/",
        "service-record": f"/my-day/items/{in_chair.items.get().pk}/record/",
        "card": f"/customers/{salon.customer.pk}/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        page.screenshot(path=f"{SHOTS}/touch-{name}-1024.png", full_page=True)
        targets = page.evaluate(_TARGETS)
        assert len(targets) > 5, (name, targets)
        small += [(name, t) for t in targets if t["width"] < 44 or t["height"] < 44]
    # the Start confirmation of a client with warnings, opened
    page.goto(live_server.url + "/my-day/")
    page.click(f"#start-{arrived.items.get().pk}")
    expect(page.locator(f"#start-reason-{arrived.items.get().pk}")).to_be_visible()
    small += [("my-day start", t) for t in page.evaluate(_TARGETS) if t["width"] < 44 or t["height"] < 44]
    context.close()
    assert not small, "touch targets under 44×44 px:\n" + "\n".join(f"{n}: {t}" for n, t in small)


def test_favicon(live_server, page, location):
    response = page.request.get(f"{live_server.url}/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/"), (
        response.status,
        response.headers,
    )
    page.goto(f"{live_server.url}/login/")
    icons = page.eval_on_selector_all("link[rel~=icon]", "els => els.map(e => e.href)")
    assert icons
    for icon in icons:
        answer = page.request.get(icon)
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/"), icon
    page.goto(f"{live_server.url}/book/{location.code}/")
    assert page.eval_on_selector_all("link[rel~=icon]", "els => els.length")
