# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""The fleet page: who sees which devices, filters, search, sort, keyset pages, htmx."""
import pytest
from django.urls import reverse

from tests.devices.test_fleet_support import fleet, grant, make_device  # noqa: F401

URL = "/devices/"


def names(response):
    return [d.name for d in response.context["page"].items]


def test_admin_sees_all_devices_of_the_tenant_only(client_for, admin_user, fleet):
    response = client_for(admin_user).get(URL)
    assert response.status_code == 200
    assert names(response) == ["alpha", "bravo", "charlie"]
    assert b"foreign1" not in response.content
    assert reverse("devices:fleet") == URL


def test_staff_sees_all_devices(client_for, staff_user, fleet):
    assert names(client_for(staff_user).get(URL)) == ["alpha", "bravo", "charlie"]


def test_viewer_sees_only_granted_devices(client_for, viewer_user, fleet):
    grant(fleet["b"], viewer_user)
    response = client_for(viewer_user).get(URL)
    assert names(response) == ["bravo"]
    assert b"Bulk action" not in response.content


def test_foreign_admin_sees_none_of_our_devices(client_for, foreign_admin, fleet):
    assert names(client_for(foreign_admin).get(URL)) == ["foreign1"]


def test_anonymous_is_sent_to_login(client, fleet):
    assert client.get(URL).status_code == 302


@pytest.mark.parametrize("query, expected", [
    ("q=front", ["alpha"]),
    ("q=GARDEN", ["alpha", "bravo"]),
    ("tag=vip", ["alpha"]),
    ("online=online", ["alpha"]),
    ("online=offline", ["bravo", "charlie"]),
    ("kind=picture", ["charlie"]),
    ("package=active", ["charlie"]),
    ("package=none", ["alpha", "bravo"]),
    ("sort=-name", ["charlie", "bravo", "alpha"]),
])
def test_filters_search_and_sort(client_for, admin_user, fleet, query, expected):
    response = client_for(admin_user).get(f"{URL}?{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_product_and_owner_filters(client_for, admin_user, fleet):
    c = client_for(admin_user)
    assert names(c.get(f"{URL}?product={fleet['locks'].pk}")) == ["charlie"]
    fleet["a"].owner = admin_user
    fleet["a"].save()
    assert names(c.get(f"{URL}?owner={admin_user.pk}")) == ["alpha"]
    assert names(c.get(f"{URL}?owner=none")) == ["bravo", "charlie"]


@pytest.mark.parametrize("query", ["online=maybe", "package=soon", "product=999999",
                                   "product=abc", "sort=password", "size=7", "days=-3",
                                   "cursor=%%%", "owner=123456"])
def test_nonsense_filter_values_are_a_400_with_a_message(client_for, admin_user, fleet, query):
    response = client_for(admin_user).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert b'role="alert"' in response.content


def test_foreign_product_is_not_a_valid_filter(client_for, admin_user, fleet):
    foreign_product = fleet["foreign"].product_id
    assert client_for(admin_user).get(f"{URL}?product={foreign_product}").status_code == 400


def test_keyset_pages_walk_the_whole_fleet_in_order(client_for, admin_user, tenant, fleet):
    for i in range(7):
        make_device(tenant, fleet["cams"], name=f"zulu{i}")
    c = client_for(admin_user)
    seen, url = [], f"{URL}?size=25&sort=-last_seen"
    response = c.get(f"{URL}?size=25")
    assert response.context["next_url"] is None
    # A page size below the total: follow the next links.
    from devices import selectors
    qs = selectors.device_list(tenant=tenant, user=admin_user, role="admin", filters={"removed": False})
    cursor, pages = "", 0
    while True:
        page = selectors.device_page(qs, sort="name", cursor=cursor, size=3)
        seen += [d.name for d in page.items]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == sorted(seen) and len(seen) == 10 and pages == 4
    assert c.get(url).status_code == 200


def test_nullable_sort_lists_devices_without_a_value_last(tenant, admin_user, fleet):
    from django.utils import timezone

    from devices import selectors
    fleet["b"].last_seen_at = timezone.now()
    fleet["b"].save()
    qs = selectors.device_list(tenant=tenant, user=admin_user, role="admin", filters={"removed": False})
    for sort in ("last_seen", "-last_seen"):
        seen, cursor = [], ""
        while True:
            page = selectors.device_page(qs, sort=sort, cursor=cursor, size=1)
            seen += [d.name for d in page.items]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert seen[0] == "bravo" and sorted(seen) == ["alpha", "bravo", "charlie"]


def test_htmx_request_gets_only_the_results_partial(client_for, admin_user, fleet):
    response = client_for(admin_user).get(f"{URL}?q=alpha", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'id="results"' in response.content
    assert b"<html" not in response.content
    assert b"alpha" in response.content


def test_page_works_without_javascript_links_carry_the_filter(client_for, admin_user, tenant, fleet):
    for i in range(60):
        make_device(tenant, fleet["cams"], name=f"x{i:03d}")
    response = client_for(admin_user).get(f"{URL}?q=x&size=25")
    assert response.status_code == 200
    next_url = response.context["next_url"]
    assert "q=x" in next_url and "cursor=" in next_url
    assert f'href="{next_url}"'.replace("&", "&amp;").encode() in response.content
    second = client_for(admin_user).get(f"{URL}{next_url}")
    assert names(second)[0] == "x025"


def test_fleet_page_query_count_does_not_grow_with_rows(client_for, admin_user, tenant, fleet,
                                                        django_assert_max_num_queries):
    for i in range(80):
        make_device(tenant, fleet["cams"], name=f"n{i:03d}", owner=admin_user, tags=["t"])
    c = client_for(admin_user)
    with django_assert_max_num_queries(14):
        response = c.get(f"{URL}?size=100")
    assert len(response.context["page"].items) == 83


def test_htmx_request_with_a_bad_filter_gets_the_message_in_the_partial(client_for, admin_user, fleet):
    response = client_for(admin_user).get(f"{URL}?online=maybe", headers={"HX-Request": "true"})
    assert b'role="alert"' in response.content and b"<html" not in response.content


def test_rows_escape_what_people_and_the_cloud_wrote(client_for, admin_user, tenant):
    from django.contrib.auth import get_user_model

    from tests.devices.test_fleet_support import make_product

    owner = get_user_model().objects.create_user("mallory", 'm"<b>@example.com', None)
    product = make_product(tenant, name="<i>Cams</i>")
    make_device(tenant, product, name="<script>n</script>", nickname="<img src=x onerror=alert(1)>",
                tags=['<b>"t"</b>', "a&b"], owner=owner)
    body = client_for(admin_user).get(URL).content.decode()
    for raw in ("<script>n</script>", "<img src=x", "<b>\"t\"</b>", "<i>Cams</i>", 'm"<b>@'):
        assert raw not in body
    for escaped in ("&lt;script&gt;n&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
                    "&lt;b&gt;&quot;t&quot;&lt;/b&gt;", "&lt;i&gt;Cams&lt;/i&gt;",
                    "m&quot;&lt;b&gt;@example.com", 'href="?tag=a%26b">a&amp;b</a>',
                    'aria-label="&lt;script&gt;n&lt;/script&gt;"'):
        assert escaped in body


def test_rows_show_times_in_the_tenants_time_zone(client_for, admin_user, tenant, fleet):
    import datetime as dt

    tenant.time_zone = "Asia/Shanghai"
    tenant.save()
    fleet["c"].last_seen_at = dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC)
    fleet["c"].package_expires_at = dt.datetime(2026, 3, 31, 20, 0, tzinfo=dt.UTC)
    fleet["c"].package_type, fleet["c"].package_retention_days = 1, 7
    fleet["c"].save()
    body = client_for(admin_user).get(URL).content.decode()
    assert "<td>2026-01-02 07:30</td>" in body and "<td>2026-04-01</td>" in body
    assert "full-time · 7 days" in body


def test_viewer_rows_have_no_selection_and_no_owner(client_for, viewer_user, admin_user, fleet):
    fleet["b"].owner = admin_user
    fleet["b"].save()
    grant(fleet["b"], viewer_user)
    body = client_for(viewer_user).get(URL).content.decode()
    assert "bravo" in body
    assert 'name="device"' not in body and admin_user.email not in body


def test_filter_form_keeps_the_chosen_values(client_for, admin_user, fleet):
    body = client_for(admin_user).get(
        f"{URL}?online=online&product={fleet['cams'].pk}&sort=-name&size=25&q=%22%3Ci%3E"
        "&package=expiring&days=9").content.decode()
    assert ('<input type="search" name="q" value="&quot;&lt;i&gt;" placeholder="Name, nickname or '
            'tag" maxlength="100" id="id_q">') in body
    assert '<input type="number" name="days" value="9" min="1" max="3650" id="id_days">' in body
    assert '<label for="id_days">Expiring within (days):</label>' in body
    assert '<option value="online" selected>' in body
    assert f'<option value="{fleet["cams"].pk}" selected>Cams</option>' in body
    assert f'<option value="{fleet["locks"].pk}">Locks</option>' in body
    assert '<option value="-name" selected>' in body and '<option value="25" selected>' in body
    assert '<select name="owner" id="id_owner">' in body
