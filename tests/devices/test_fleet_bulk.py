# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""Bulk actions on the fleet: selected rows or all that match the filter; tag, assign owner,
export CSV, hand the selection to the purchase flow. Only the tenant's own devices."""
import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest

from devices.models import DeviceGrant
from portal.models import AuditEntry
from tests.devices.test_fleet_support import fleet, make_device  # noqa: F401

URL = "/devices/bulk/"


def test_tag_selected_devices(client_for, admin_user, fleet):
    response = client_for(admin_user).post(URL, {
        "action": "tag", "scope": "selected", "device": [fleet["b"].pk, fleet["c"].pk],
        "add_tags": "Night, roof", "remove_tags": "garden"})
    assert response.status_code == 302
    fleet["b"].refresh_from_db()
    fleet["c"].refresh_from_db()
    fleet["a"].refresh_from_db()
    assert fleet["b"].tags == ["night", "roof"]
    assert fleet["c"].tags == ["night", "roof"]
    assert fleet["a"].tags == ["garden", "vip"]
    assert AuditEntry.objects.filter(action="tag", object_id=str(fleet["b"].pk)).exists()


def test_tag_all_that_match_the_filter(client_for, admin_user, fleet):
    response = client_for(admin_user).post(URL, {
        "action": "tag", "scope": "filter", "filter": "tag=garden", "add_tags": "outdoor"})
    assert response.status_code == 302
    assert response["Location"].endswith("?tag=garden")
    for key, tagged in (("a", True), ("b", True), ("c", False)):
        fleet[key].refresh_from_db()
        assert ("outdoor" in fleet[key].tags) is tagged
    fleet["foreign"].refresh_from_db()
    assert fleet["foreign"].tags == []


def test_assign_a_viewer_as_owner_grants_the_devices(client_for, admin_user, viewer_user, fleet):
    response = client_for(admin_user).post(URL, {
        "action": "owner", "scope": "selected", "device": [fleet["a"].pk],
        "owner_email": viewer_user.email.upper()})
    assert response.status_code == 302
    fleet["a"].refresh_from_db()
    assert fleet["a"].owner == viewer_user
    assert DeviceGrant.objects.filter(device=fleet["a"], user=viewer_user).exists()
    assert [d.name for d in client_for(viewer_user).get("/devices/").context["page"].items] == ["alpha"]


def test_owner_from_another_tenant_is_refused(client_for, admin_user, foreign_admin, fleet):
    response = client_for(admin_user).post(URL, {
        "action": "owner", "scope": "selected", "device": [fleet["a"].pk],
        "owner_email": foreign_admin.email})
    assert response.status_code == 400
    fleet["a"].refresh_from_db()
    assert fleet["a"].owner is None


def test_foreign_device_in_the_selection_refuses_the_whole_action(client_for, admin_user, fleet):
    response = client_for(admin_user).post(URL, {
        "action": "tag", "scope": "selected", "device": [fleet["a"].pk, fleet["foreign"].pk],
        "add_tags": "x"})
    assert response.status_code == 400
    fleet["a"].refresh_from_db()
    fleet["foreign"].refresh_from_db()
    assert "x" not in fleet["a"].tags and fleet["foreign"].tags == []


@pytest.mark.parametrize("data", [
    {"action": "tag", "scope": "selected"},  # nothing selected
    {"action": "explode", "scope": "selected", "device": [1]},
    {"action": "tag", "scope": "filter", "filter": "online=perhaps", "add_tags": "x"},
    {"action": "tag", "scope": "selected", "device": ["abc"], "add_tags": "x"},
])
def test_bad_bulk_input_is_a_400(client_for, admin_user, fleet, data):
    assert client_for(admin_user).post(URL, data).status_code == 400


def test_export_csv_of_the_filter(client_for, staff_user, fleet):
    response = client_for(staff_user).post(URL, {"action": "export", "scope": "filter",
                                                 "filter": "tag=garden"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["device"] for r in rows] == ["alpha", "bravo"]
    assert rows[0]["tags"] == "garden;vip" and rows[0]["online"] == "yes"


def test_purchase_hands_the_selection_to_the_purchase_flow(client_for, staff_user, fleet):
    from django.urls import NoReverseMatch, reverse
    try:
        purchase = reverse("devices:purchase_new")
    except NoReverseMatch:
        pytest.skip("the purchase flow is not installed")
    c = client_for(staff_user)
    response = c.post(URL, {"action": "purchase", "scope": "selected",
                            "device": [fleet["a"].pk, fleet["b"].pk]})
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.path == purchase
    assert parse_qs(url.query)["device"] == [str(fleet["a"].pk), str(fleet["b"].pk)]
    by_filter = c.post(URL, {"action": "purchase", "scope": "filter", "filter": "tag=garden&q=a"})
    assert parse_qs(urlsplit(by_filter["Location"]).query)["filter"] == ["tag=garden&q=a"]


def test_staff_may_export_but_not_tag(client_for, staff_user, fleet):
    response = client_for(staff_user).post(URL, {"action": "tag", "scope": "selected",
                                                 "device": [fleet["a"].pk], "add_tags": "x"})
    assert response.status_code == 403
    fleet["a"].refresh_from_db()
    assert "x" not in fleet["a"].tags


def test_viewer_and_foreign_admin_cannot_act_on_our_devices(client_for, viewer_user, foreign_admin, fleet):
    assert client_for(viewer_user).post(URL, {"action": "export", "scope": "filter"}).status_code == 403
    response = client_for(foreign_admin).post(URL, {"action": "tag", "scope": "selected",
                                                    "device": [fleet["a"].pk], "add_tags": "x"})
    assert response.status_code == 400
    fleet["a"].refresh_from_db()
    assert "x" not in fleet["a"].tags


def test_export_neutralises_spreadsheet_formulas(client_for, staff_user, fleet):
    fleet["b"].nickname = "=HYPERLINK(\"http://evil\")"
    fleet["b"].save()
    response = client_for(staff_user).post(URL, {"action": "export", "scope": "selected",
                                                 "device": [fleet["b"].pk]})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["nickname"].startswith("'=")
