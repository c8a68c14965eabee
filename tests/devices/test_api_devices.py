# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""/api/v1/: products, devices (the fleet page's filters, search and keyset pages), grants, tags;
for each role and a foreign tenant; bounded queries; the schema and offline docs."""
import pytest

from devices.models import DeviceGrant
from tests.devices.test_fleet_support import fleet, grant, make_device  # noqa: F401


def names(response):
    return [d["name"] for d in response.json()["results"]]


@pytest.mark.parametrize("query, expected", [
    ("", ["alpha", "bravo", "charlie"]),
    ("?q=garden", ["alpha", "bravo"]),
    ("?kind=picture", ["charlie"]),
    ("?package=active", ["charlie"]),
    ("?online=online", ["alpha"]),
    ("?sort=-name", ["charlie", "bravo", "alpha"]),
])
def test_device_list_filters_like_the_page(client_for, staff_user, fleet, query, expected):
    response = client_for(staff_user).get(f"/api/v1/devices/{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_device_list_pages_by_cursor(client_for, admin_user, tenant, fleet):
    for i in range(30):
        make_device(tenant, fleet["cams"], name=f"p{i:02d}")
    client = client_for(admin_user)
    seen, url = [], "/api/v1/devices/?size=25"
    while url:
        body = client.get(url).json()
        seen += [d["name"] for d in body["results"]]
        url = body["next"]
    assert len(seen) == 33 and seen == sorted(seen)


@pytest.mark.parametrize("query", ["?online=sometimes", "?product=zzz", "?cursor=garbage",
                                   "?sort=secret", "?size=100000"])
def test_nonsense_filters_are_400_with_a_message(client_for, admin_user, fleet, query):
    response = client_for(admin_user).get(f"/api/v1/devices/{query}")
    assert response.status_code == 400
    assert response.json()


def test_viewer_lists_only_granted_devices(client_for, viewer_user, fleet):
    grant(fleet["c"], viewer_user)
    client = client_for(viewer_user)
    assert names(client.get("/api/v1/devices/")) == ["charlie"]
    assert client.get(f"/api/v1/devices/{fleet['a'].pk}/").status_code == 404
    assert client.get("/api/v1/tags/").json()["results"] == []
    assert client.get("/api/v1/grants/").status_code == 403


def test_foreign_admin_gets_404_for_our_device(client_for, foreign_admin, fleet):
    assert client_for(foreign_admin).get(f"/api/v1/devices/{fleet['a'].pk}/").status_code == 404


def test_anonymous_is_refused(client, fleet):
    assert client.get("/api/v1/devices/").status_code in (401, 403)


def test_admin_patches_metadata_staff_cannot(client_for, admin_user, staff_user, fleet):
    url = f"/api/v1/devices/{fleet['b'].pk}/"
    response = client_for(admin_user).patch(url, {"nickname": "Shed", "tags": ["A", "b"]},
                                            content_type="application/json")
    assert response.status_code == 200
    assert response.json()["nickname"] == "Shed" and response.json()["tags"] == ["a", "b"]
    assert client_for(staff_user).patch(url, {"nickname": "x"},
                                        content_type="application/json").status_code == 403
    bad = client_for(admin_user).patch(url, {"tags": "notalist"}, content_type="application/json")
    assert bad.status_code == 400


def test_products_and_tags(client_for, staff_user, fleet):
    client = client_for(staff_user)
    products = client.get("/api/v1/products/").json()["results"]
    assert sorted(p["name"] for p in products) == ["Cams", "Locks"]
    assert client.get("/api/v1/tags/").json()["results"] == ["garden", "vip"]
    assert client.post("/api/v1/products/", {"name": "x", "stream_kind": "video"},
                       content_type="application/json").status_code == 403


def test_bad_product_create_is_a_400(client_for, admin_user, fleet):
    response = client_for(admin_user).post("/api/v1/products/", {"name": "x", "stream_kind": "smell"},
                                           content_type="application/json")
    assert response.status_code == 400 and "stream_kind" in response.json()


def test_grants_endpoints(client_for, admin_user, viewer_user, foreign_admin, fleet):
    client = client_for(admin_user)
    created = client.post("/api/v1/grants/", {"device": fleet["a"].pk, "email": viewer_user.email},
                          content_type="application/json")
    assert created.status_code == 201
    assert client.get(f"/api/v1/grants/?device={fleet['a'].pk}").json()["results"][0]["email"] == viewer_user.email
    foreign = client.post("/api/v1/grants/", {"device": fleet["foreign"].pk, "email": viewer_user.email},
                          content_type="application/json")
    assert foreign.status_code == 400 and "device" in foreign.json()
    outsider = client.post("/api/v1/grants/", {"device": fleet["a"].pk, "email": foreign_admin.email},
                           content_type="application/json")
    assert outsider.status_code == 400
    gid = created.json()["id"]
    assert client_for(foreign_admin).delete(f"/api/v1/grants/{gid}/").status_code == 404
    assert client_for(admin_user).delete(f"/api/v1/grants/{gid}/").status_code == 204
    assert not DeviceGrant.objects.exists()


def test_api_list_query_count_is_bounded(client_for, admin_user, tenant, fleet,
                                        django_assert_max_num_queries):
    for i in range(120):
        make_device(tenant, fleet["cams"], name=f"q{i:03d}", owner=admin_user)
    client = client_for(admin_user)
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/devices/?size=200")
    assert len(response.json()["results"]) == 123


def test_schema_and_docs_work_offline(client_for, admin_user, fleet):
    client = client_for(admin_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/devices/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs
