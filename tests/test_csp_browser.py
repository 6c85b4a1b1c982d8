"""Browser: every main page works under the Content-Security-Policy (no inline script, no inline
style, nothing evaluated). Chromium reports each blocked script, style or eval in the console
("Refused to ...", "Content Security Policy") and as a `securitypolicyviolation` event; both, any
uncaught JS error and any failed script / style / image / font load fail the test, naming the
page. Each page is also checked for doing what its scripts do (blocks placed, colours painted,
dialogs opening), so a page that silently stopped working fails too."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import StaffMember
from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingItem, appointment_book, appointment_check_in
from tests.appointments import fixtures_core
from tests.appointments.factories import time_off
from tests.appointments.fixtures_core import DAY
from tests.browser import login
from tests.customers.factories import CustomerFactory, TagFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STYLIST_COLOUR, OTHER_COLOUR, TAG_COLOUR = "#e83e8c", "#20c997", "#d4a017"
RGB = {"#e83e8c": "rgb(232, 62, 140)", "#20c997": "rgb(32, 201, 151)", "#d4a017": "rgb(212, 160, 23)"}

# Installed before any page script runs (through the DevTools protocol, so the CSP does not
# apply to it): every violation is reported to Python with what was blocked and where.
_LISTEN = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolation([e.violatedDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber, e.sample].join(" | "));
}, true);
"""


class CspWatch:
    """Collects CSP violations, JS errors and failed asset loads on one page, per step."""

    def __init__(self, page):
        self.page = page
        self.step = "start"
        self.problems: list[str] = []
        page.expose_binding("__cspViolation", lambda source, text: self._add("violation", text))
        page.add_init_script(_LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._add("JS error", str(error)))
        page.on("response", self._response)

    def _add(self, kind: str, text: str) -> None:
        self.problems.append(f"[{self.step}] {kind}: {text}")

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self._add("console", text)

    def _response(self, response) -> None:
        kind = response.request.resource_type
        if kind in ("script", "stylesheet", "image", "font") and response.status >= 400:
            self._add("asset", f"{response.status} {response.url}")

    def visit(self, url: str, step: str | None = None):
        """Open a page: 200, with the policy in its header."""
        self.at(step or url)
        response = self.page.goto(url)
        assert response.status == 200, (url, response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe" not in policy, (url, policy)
        return response

    def at(self, step: str) -> None:
        self.check()
        self.step = step

    def check(self) -> None:
        # Violation events are queued as tasks: give the page a moment to deliver them.
        self.page.wait_for_timeout(150)
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def csp(page):
    watch = CspWatch(page)
    yield watch
    watch.check()


def _paint(page, selector: str) -> dict:
    return page.eval_on_selector(
        selector,
        """el => ({top: el.style.top, height: el.style.height, dataTop: el.dataset.top,
                   dataHeight: el.dataset.height, visibility: getComputedStyle(el).visibility,
                   bg: getComputedStyle(el).backgroundColor,
                   staff: getComputedStyle(el).getPropertyValue('--staff').trim(),
                   borderLeft: getComputedStyle(el).borderLeftColor})""",
    )


def _close_dialog(page) -> None:
    page.locator("#dialog [data-bs-dismiss=modal]").first.click()
    expect(page.locator("#dialog")).to_be_hidden()


def _colours(salon) -> None:
    StaffMember.objects.filter(pk=salon.stylist.pk).update(calendar_colour=STYLIST_COLOUR)
    StaffMember.objects.filter(pk=salon.other_stylist.pk).update(calendar_colour=OTHER_COLOUR)


def _book(salon, customer, staff, start) -> Appointment:
    return appointment_book(
        customer=customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=staff, start=start)],
        source="front_desk",
        booked_by=None,
    )


def test_front_desk_pages_and_dialogs_under_the_policy(live_server, page, csp, salon, reception, on_the_day):
    _colours(salon)
    salon.customer.tags.add(TagFactory(name="VIP", colour=TAG_COLOUR))
    first = _book(salon, salon.customer, salon.stylist, salon.at(10))
    second = _book(salon, CustomerFactory(name="李四"), salon.other_stylist, salon.at(11))
    time_off(salon.stylist, salon.at(14), 2)
    url = live_server.url

    csp.visit(f"{url}/login/", "login")
    login(page, live_server, "reception")
    csp.visit(f"{url}/", "today")

    # calendar: blocks and shading placed from data-top / data-height, colours painted
    csp.visit(f"{url}/calendar/?date={DAY.isoformat()}", "calendar")
    block = f'.appt[data-appointment="{first.pk}"]'
    painted = _paint(page, block)
    assert painted["top"] == painted["dataTop"] + "px" and painted["height"] == painted["dataHeight"] + "px"
    assert (painted["dataTop"], painted["visibility"]) == ("88", "visible")  # 10:00 is 4 rows of 22 px
    assert painted["borderLeft"] == RGB[STYLIST_COLOUR]
    shade = _paint(page, f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-off >> nth=-1')
    assert (shade["top"], shade["height"]) == ("440px", "176px")  # 14:00 for two hours
    assert (
        _paint(page, f'[data-staff-head="{salon.other_stylist.pk}"] .staff-swatch')["bg"] == RGB[OTHER_COLOUR]
    )
    # the grid flows column by column: each stylist's head sits above their column
    for staff in (salon.stylist, salon.other_stylist):
        head = page.locator(f'[data-staff-head="{staff.pk}"]').bounding_box()
        column = page.locator(f'.cal-col[data-staff="{staff.pk}"]').bounding_box()
        assert abs(head["x"] - column["x"]) < 1 and head["y"] < column["y"], (head, column)
    other_column = page.locator(f'.cal-col[data-staff="{salon.other_stylist.pk}"]').bounding_box()
    assert other_column["x"] > page.locator(f'.cal-col[data-staff="{salon.stylist.pk}"]').bounding_box()["x"]

    csp.at("calendar: book dialog")
    page.click(f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-slot[data-time="15:00"]')
    dialog = page.locator("#dialog")
    expect(dialog.locator("#book-form")).to_be_visible()
    expect(dialog.locator("#client-lookup")).to_be_focused()  # the dialog is open and wired
    dialog.locator("#client-lookup").press_sequentially("张三")
    dialog.locator(f'[data-pick-customer="{salon.customer.pk}"]').click()
    expect(dialog.locator("#picked-client")).to_contain_text("张三")
    dialog.locator("#id_items-0-service").select_option(str(salon.colour.pk))
    _close_dialog(page)
    expect(page.locator("#book-form")).to_have_count(0)

    csp.at("calendar: appointment detail")
    page.click(block)
    expect(page.locator("#appointment-detail")).to_be_visible()
    assert _paint(page, "#appointment-detail .staff-swatch")["bg"] == RGB[STYLIST_COLOUR]
    csp.at("calendar: move dialog")
    page.click("#act-move")
    expect(page.locator("#move-form")).to_be_visible()
    _close_dialog(page)
    expect(page.locator("#move-form")).to_have_count(0)

    csp.at("calendar: walk-in dialog")
    page.click("#walk-in-btn")
    expect(page.locator("#walk-in-form")).to_be_visible()
    _close_dialog(page)
    expect(page.locator("#walk-in-form")).to_have_count(0)
    csp.at("calendar: waitlist dialog")
    page.click("#waitlist-btn")
    expect(page.locator("#waitlist-form")).to_be_visible()
    _close_dialog(page)
    expect(page.locator("#waitlist-form")).to_have_count(0)

    csp.at("calendar: cancel dialog, then the grid refreshes through htmx")
    page.click(f'.appt[data-appointment="{second.pk}"]')
    page.click("#act-cancel")
    expect(page.locator("#cancel-form")).to_be_visible()
    page.evaluate("document.getElementById('calendar').dataset.old = '1'")
    page.click("#cancel-submit")
    expect(page.locator(f'.appt[data-appointment="{second.pk}"]')).to_have_count(0)
    expect(page.locator("#flash")).to_have_text("Cancelled.")
    # the refreshed grid is a new element (htmx swapped it): its blocks were placed again
    expect(page.locator("#calendar[data-old]")).to_have_count(0)
    painted = _paint(page, block)
    assert (painted["top"], painted["visibility"]) == ("88px", "visible")
    assert Appointment.objects.get(pk=second.pk).status == AppointmentStatus.CANCELLED

    csp.at("calendar: date picker submits its form")
    page.fill("#date-picker", (DAY + timedelta(days=1)).isoformat())
    page.wait_for_url(f"**/calendar/?date={(DAY + timedelta(days=1)).isoformat()}")

    csp.visit(f"{url}/calendar/week/?staff={salon.stylist.pk}&date={DAY.isoformat()}", "week")
    assert _paint(page, ".week-item")["borderLeft"] == RGB[STYLIST_COLOUR]
    csp.at("week: appointment detail")
    page.click(".week-item")
    expect(page.locator("#appointment-detail")).to_be_visible()
    _close_dialog(page)
    csp.at("week: stylist select submits its form")
    page.select_option("#week-staff", str(salon.other_stylist.pk))
    page.wait_for_url(f"**staff={salon.other_stylist.pk}**")

    # clients: header search (an htmx swap with tag colours), list, card, edit, walk-in dialog
    csp.visit(f"{url}/", "header search")
    page.locator("#header-search").press_sequentially("zs", delay=50)
    expect(page.locator("#header-search-results a.search-result").first).to_contain_text("张三")
    assert _paint(page, "#header-search-results .tag-badge")["bg"] == RGB[TAG_COLOUR]
    csp.visit(f"{url}/customers/?q=zs", "client list")
    assert _paint(page, ".tag-badge")["bg"] == RGB[TAG_COLOUR]
    csp.visit(f"{url}/customers/{salon.customer.pk}/", "client card")
    assert _paint(page, "[data-tag=VIP]")["bg"] == RGB[TAG_COLOUR]
    csp.visit(f"{url}/customers/{salon.customer.pk}/edit/", "client edit")
    csp.visit(f"{url}/customers/new/", "new client")
    csp.at("walk-in dialog from the header (static/js/dialogs.js makes the shared dialog)")
    page.click("#quick-add-button")
    expect(page.locator("#walk-in-form")).to_be_visible()
    _close_dialog(page)
    expect(page.locator("#walk-in-form")).to_have_count(0)

    # checkout and receipt
    appointment_check_in(appointment=first, by=reception.user)
    csp.visit(f"{url}/appointments/{first.pk}/checkout/", "checkout")
    expect(page.locator("#total-net")).to_have_text("200.00")
    page.fill("#id_pay-0-amount", "200.00")
    page.click("#checkout-submit")
    expect(page.locator("#receipt-total")).to_have_text("200.00")
    csp.at("receipt: print button")
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.click("#print-btn")
    assert page.evaluate("window.__printed") is True
    csp.visit(f"{url}/checkout/", "product sale")
    page.fill("#client-lookup", "张三")
    page.click(f'#checkout-lookup [data-pick-customer="{salon.customer.pk}"]')
    expect(page.locator("#checkout-client")).to_have_text("张三")


def test_stylist_pages_under_the_policy(live_server, page, csp, salon):
    _colours(salon)
    today = timezone.now().astimezone(salon.location.tz).date()
    mine = _book(salon, salon.customer, salon.stylist, salon.at(10, day=today))
    appointment_check_in(appointment=mine, by=None)
    csp.visit(f"{live_server.url}/login/", "login")
    login(page, live_server, "stylist")
    csp.visit(f"{live_server.url}/my-day/", "my day")
    assert _paint(page, f'[data-item="{mine.items.get().pk}"]')["borderLeft"] == RGB[STYLIST_COLOUR]
    csp.visit(f"{live_server.url}/my-day/items/{mine.items.get().pk}/record/", "service record")
    csp.visit(f"{live_server.url}/customers/{salon.customer.pk}/", "client card (stylist)")


def test_owner_pages_settings_api_docs_and_admin_under_the_policy(live_server, page, csp, salon, owner):
    type(owner.user).objects.filter(pk=owner.user.pk).update(is_superuser=True, is_staff=True)
    url = live_server.url
    login(page, live_server, "owner")
    csp.visit(f"{url}/", "today (owner)")
    csp.at("location switcher submits its form")
    choice = page.locator("#location-switcher option:not([selected])").first.get_attribute("value")
    page.select_option("#location-switcher", choice)
    expect(page.locator(f'#location-switcher option[value="{choice}"]')).to_have_attribute("selected", "")

    csp.visit(f"{url}/settings/", "settings")
    links = page.eval_on_selector_all(
        "main a[href^='/settings/']", "els => els.map(e => e.getAttribute('href'))"
    )
    assert links, "the settings page links to its sections"
    for link in sorted({link.split("#")[0] for link in links}):  # a #section is the same page
        csp.visit(url + link, f"settings: {link}")
    for name in ("customers:import", "customers:merge", "customers:list"):
        csp.visit(url + reverse(name), name)

    csp.visit(f"{url}/api/docs/", "api docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Salon CRM API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    # the admin: its index, then every list and add form it links to
    csp.visit(url + reverse("admin:index"), "admin index")
    admin_links = page.eval_on_selector_all(
        "#content-main a.addlink, #content-main th[scope=row] a",
        "els => els.map(e => e.getAttribute('href'))",
    )
    assert len(admin_links) > 10
    for link in admin_links:
        csp.visit(url + link, f"admin: {link}")


def test_two_factor_login_pages_under_the_policy(live_server, page, csp, settings, owner):
    """The owner's second step: enrolment (inline SVG QR code), backup codes, the code page."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.accounts.factories import PASSWORD

    settings.OTP_REQUIRED_ROLES = ["owner"]
    url = live_server.url

    def password_step():
        csp.visit(f"{url}/login/", "login (owner)")
        page.fill("#id_username", "owner")
        page.fill("#id_password", PASSWORD)
        page.click("#login-form button[type=submit]")

    password_step()
    csp.at("two-factor enrolment")
    expect(page.locator("#otp-qr svg")).to_be_visible()
    device = TOTPDevice.objects.get(user=owner.user, confirmed=False)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    page.fill("#otp-enrol-form [name=code]", f"{code:0{device.digits}d}")
    page.click("#otp-enrol-form button[type=submit]")
    csp.at("two-factor backup codes")
    expect(page.locator("#backup-codes li")).to_have_count(settings.OTP_BACKUP_CODES)
    page.click("#otp-continue")
    expect(page.locator("#nav-items")).to_be_visible()

    page.context.clear_cookies()
    password_step()
    csp.at("two-factor code")
    expect(page.locator("#otp-form")).to_be_visible()
    page.fill("#otp-form [name=code]", StaticToken.objects.filter(device__user=owner.user).first().token)
    page.click("#otp-form button[type=submit]")
    expect(page.locator("#nav-items")).to_be_visible()


def test_online_booking_steps_under_the_policy(live_server, page, csp, salon):
    _colours(salon)
    page.set_viewport_size({"width": 390, "height": 844})
    day = (timezone.now().astimezone(salon.location.tz) + timedelta(days=3)).date()
    start = f"{live_server.url}/book/{salon.location.code}/"
    csp.visit(start, "online: services")
    page.click(f"#online-services a[href='?service={salon.cut.pk}']")
    csp.at("online: stylists")
    expect(page.locator("#any-stylist")).to_be_visible()
    assert _paint(page, ".staff-swatch")["bg"] in (RGB[STYLIST_COLOUR], RGB[OTHER_COLOUR])
    page.click("#any-stylist")
    csp.at("online: day picker")
    page.click(f"#online-days a[data-date='{day.isoformat()}']")
    expect(page.locator("#tz-note")).to_contain_text("Asia/Shanghai")
    csp.at("online: details")
    page.locator("#online-slots a", has_text="10:00").click()
    page.fill("#id_name", "赵六")
    page.fill("#id_phone", "13700001234")
    page.click("#online-book")
    csp.at("online: manage")
    expect(page.locator("#booked-ok")).to_be_visible()
    manage = page.url
    csp.at("online: move")
    page.click("#manage-move")
    page.click(f"#online-days a[data-date='{(day + timedelta(days=1)).isoformat()}']")
    page.wait_for_url(f"**date={(day + timedelta(days=1)).isoformat()}**")
    csp.visit(manage, "online: cancel asks first")
    page.once("dialog", lambda d: d.dismiss())
    page.click("#manage-cancel")
    page.wait_for_timeout(300)
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED  # dismissed: nothing changed
    page.once("dialog", lambda d: d.accept())
    page.click("#manage-cancel")
    expect(page.locator("#manage-status")).to_have_text("Cancelled")
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED


def test_the_watch_catches_a_violation(live_server, page, csp, salon):
    """The watch itself: an inline script and an inline style on a real page are reported."""
    csp.visit(f"{live_server.url}/login/", "login")
    page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                   document.body.appendChild(s);
                   const d = document.createElement('div'); d.setAttribute('style', 'color: red');
                   document.body.appendChild(d); }"""
    )
    page.wait_for_timeout(150)
    assert page.evaluate("window.ran") is None
    kinds = " ".join(csp.problems)
    assert "script-src" in kinds and "style-src" in kinds, csp.problems
    csp.problems.clear()
