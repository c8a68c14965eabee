# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""CSV import of nickname / tags / owner by device name: a dry run listing each row's outcome
and errors, then all rows applied at once, or none."""
import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from devices.models import Device, DeviceGrant
from portal.models import AuditEntry
from tests.devices.test_fleet_support import fleet, make_device  # noqa: F401

URL = "/devices/import/"


def upload(client, text, name="devices.csv", **extra):
    return client.post(URL, {"file": SimpleUploadedFile(name, text.encode(), "text/csv"), **extra})


def test_dry_run_lists_each_row_and_writes_nothing(client_for, admin_user, viewer_user, fleet):
    text = ("device,nickname,tags,owner_email\n"
            f"alpha,Front,door;Porch,{viewer_user.email}\n"
            "bravo,,,\n")
    response = upload(client_for(admin_user), text)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [r.outcome for r in preview.rows] == ["update", "unchanged"]
    assert preview.rows[0].changes["tags"] == ["door", "porch"]
    fleet["a"].refresh_from_db()
    assert fleet["a"].nickname == "Front door"  # unchanged until applied
    assert "Apply these changes" in response.content.decode()


def test_apply_writes_every_row_grants_the_owner_and_audits(client_for, admin_user, viewer_user, fleet):
    text = f"device,nickname,tags,owner_email\nalpha,Front,door;porch,{viewer_user.email}\nbravo,Back,,\n"
    client = client_for(admin_user)
    response = client.post(URL, {"text": text, "apply": "1"})
    assert response.status_code == 302
    a, b = Device.objects.get(pk=fleet["a"].pk), Device.objects.get(pk=fleet["b"].pk)
    assert (a.nickname, a.tags, a.owner) == ("Front", ["door", "porch"], viewer_user)
    assert b.nickname == "Back" and b.tags == ["garden"]
    assert DeviceGrant.objects.filter(device=a, user=viewer_user).exists()
    assert AuditEntry.objects.filter(action="import").count() == 2


def test_errors_per_row_and_nothing_applied(client_for, admin_user, foreign_admin, fleet):
    text = ("device,nickname,owner_email\n"
            "alpha,Changed,\n"
            "ghost,Boo,\n"                       # unknown device
            "foreign1,Mine,\n"                   # another tenant's device: unknown here
            f"bravo,,{foreign_admin.email}\n"    # a user of another company
            "charlie,,not-an-email\n"            # bad email
            "alpha,Again,\n")                    # duplicate
    client = client_for(admin_user)
    preview = upload(client, text)
    assert preview.status_code == 400
    rows = preview.context["preview"].rows
    assert [r.outcome for r in rows] == ["update", "error", "error", "error", "error", "error"]
    body = html.unescape(preview.content.decode())
    assert "Unknown device “ghost”" in body and "Unknown device “foreign1”" in body
    assert "belongs to another company" in body and "not a valid email" in body
    assert "already on line 2" in body
    assert "Apply these changes" not in body
    applied = client.post(URL, {"text": text, "apply": "1"})
    assert applied.status_code == 400
    fleet["a"].refresh_from_db()
    assert fleet["a"].nickname == "Front door"
    assert not AuditEntry.objects.filter(action="import").exists()


@pytest.mark.parametrize("text, message", [
    ("name,nickname\nalpha,x\n", "include 'device'"),
    ("device,colour\nalpha,red\n", "Unknown column"),
    ("device,nickname\n", "no rows"),
    ("device,nickname\nalpha,x,extra\n", "more cells"),
])
def test_malformed_csv_is_a_400_with_a_message(client_for, admin_user, fleet, text, message):
    response = upload(client_for(admin_user), text)
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())


def test_binary_file_is_refused(client_for, admin_user, fleet):
    response = client_for(admin_user).post(URL, {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad")})
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()


def test_same_name_in_two_products_needs_the_product_column(client_for, admin_user, tenant, fleet):
    make_device(tenant, fleet["locks"], name="alpha")
    client = client_for(admin_user)
    ambiguous = upload(client, "device,nickname\nalpha,x\n")
    assert "add a product column" in html.unescape(ambiguous.content.decode())
    ok = upload(client, f"device,product,nickname\nalpha,{fleet['locks'].product_id},x\n")
    assert ok.status_code == 200


@pytest.mark.parametrize("user", ["staff_user", "viewer_user"])
def test_only_admins_import(client_for, request, fleet, user):
    response = upload(client_for(request.getfixturevalue(user)), "device,nickname\nalpha,x\n")
    assert response.status_code == 403


def test_foreign_admin_cannot_touch_our_devices(client_for, foreign_admin, fleet):
    response = client_for(foreign_admin).post(URL, {"text": "device,nickname\nalpha,x\n", "apply": "1"})
    assert response.status_code == 400
    fleet["a"].refresh_from_db()
    assert fleet["a"].nickname == "Front door"
