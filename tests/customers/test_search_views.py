"""Header search fragment and the client list page."""

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "header-search-results"}


@pytest.fixture
def zhang(db):
    return CustomerFactory(name="张三", phone="+8613812345678", tags=[TagFactory(name="VIP")])


def test_header_search_fragment_for_reception_shows_full_phone(zhang, client_as, reception):
    response = client_as(reception).get(reverse("customers:search"), {"q": "zs"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment, not a page
    assert "张三" in html
    assert "138 1234 5678" in html
    assert "VIP" in html
    assert f'href="/customers/{zhang.pk}/"' in html


def test_header_search_masks_phone_for_stylist(zhang, client_as, stylist):
    html = client_as(stylist).get(reverse("customers:search"), {"q": "5678"}, **HTMX).content.decode()
    assert "138****5678" in html
    assert "12345678" not in html


def test_header_search_no_match_offers_quick_add(zhang, client_as, reception):
    html = client_as(reception).get(reverse("customers:search"), {"q": "王五"}, **HTMX).content.decode()
    assert 'id="search-no-match"' in html
    assert "张三" not in html


def test_header_search_blank_is_empty(zhang, client_as, reception):
    response = client_as(reception).get(reverse("customers:search"), {"q": " "}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_header_search_without_htmx_goes_to_list(client_as, reception):
    response = client_as(reception).get(reverse("customers:search"), {"q": "zs"})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:list") + "?q=zs"


def test_search_needs_login(client):
    response = client.get(reverse("customers:search"), {"q": "zs"}, **HTMX)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_header_search_query_count_constant(client_as, reception, stylist, django_assert_num_queries):
    tag = TagFactory(name="VIP")
    for i in range(2):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}", tags=[tag], preferred_staff=stylist)
    client = client_as(reception)
    client.get(reverse("customers:search"), {"q": "张"}, **HTMX)  # warm the session
    # session, user, user perms, group perms; PostgreSQL: clients (one statement), setting
    # reset (a test transaction), tags, preferred staff; SQLite: two branch queries, clients +
    # staff, tags; then the shell's context processors: staff member, current location, user
    # locations - the same for 2 or 30 matches.
    with django_assert_num_queries(11) as ctx:
        client.get(reverse("customers:search"), {"q": "张"}, **HTMX)
    for i in range(2, 30):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}", tags=[tag, TagFactory()])
    with django_assert_num_queries(len(ctx.captured_queries)):
        response = client.get(reverse("customers:search"), {"q": "张"}, **HTMX)
    assert response.content.decode().count('class="list-group-item list-group-item-action search-result') == 8


def test_list_with_q_uses_search(zhang, client_as, reception):
    CustomerFactory(name="李四")
    html = client_as(reception).get(reverse("customers:list"), {"q": "zs"}).content.decode()
    assert "张三" in html
    assert "李四" not in html


def test_list_without_q_newest_first_paginated(client_as, reception):
    for i in range(30):
        CustomerFactory(name=f"Client {i:02d}")
    html = client_as(reception).get(reverse("customers:list")).content.decode()
    assert html.index("Client 29") < html.index("Client 28")
    assert "Client 04" not in html  # 25 a page: 29..05
    page2 = client_as(reception).get(reverse("customers:list"), {"page": 2}).content.decode()
    assert "Client 04" in page2 and "Client 05" not in page2


def test_list_tag_filter(zhang, client_as, reception):
    CustomerFactory(name="李四")
    tag = zhang.tags.get()
    html = client_as(reception).get(reverse("customers:list"), {"tag": tag.pk}).content.decode()
    assert "张三" in html and "李四" not in html
    html = client_as(reception).get(reverse("customers:list"), {"tag": "nonsense"}).content.decode()
    assert "李四" in html


def test_manager_sees_import_export_merge_links_reception_does_not(client_as, manager, reception):
    html = client_as(manager).get(reverse("customers:list")).content.decode()
    assert 'id="client-import"' in html and 'id="client-merge"' in html and 'id="client-export-csv"' in html
    html = client_as(reception).get(reverse("customers:list")).content.decode()
    assert 'id="client-import"' not in html and 'id="client-merge"' not in html


def test_list_filter_as_you_type_returns_the_table_fragment(zhang, client_as, reception):
    response = client_as(reception).get(
        reverse("customers:list"), {"q": "zs"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-list"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.strip().startswith('<div id="client-list">')
    assert "张三" in html
