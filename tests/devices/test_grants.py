# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""End users: invite by email, grant and revoke devices; a viewer sees only granted devices."""
import pytest
from django.core import mail

from devices.models import DeviceGrant
from portal.models import AuditEntry, Invitation
from tests.devices.test_fleet_support import fleet, grant  # noqa: F401
from tests.factories import UserFactory


def test_admin_invites_an_end_user_by_email(client_for, admin_user, tenant, fleet,
                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post("/devices/end-users/", {"email": "eve@example.com"})
    assert response.status_code == 302
    invitation = Invitation.objects.get(tenant=tenant, email="eve@example.com")
    assert invitation.role == "viewer"
    assert len(mail.outbox) == 1 and invitation.token in mail.outbox[0].body


def test_inviting_an_existing_member_is_a_clear_message(client_for, admin_user, viewer_user, fleet):
    response = client_for(admin_user).post("/devices/end-users/", {"email": viewer_user.email},
                                           follow=True)
    assert "already a member" in response.content.decode()


def test_bad_email_is_a_400(client_for, admin_user, fleet):
    response = client_for(admin_user).post("/devices/end-users/", {"email": "nope"})
    assert response.status_code == 400


def test_grant_and_revoke_change_what_the_viewer_sees(client_for, admin_user, viewer_user, fleet, client):
    admin = client_for(admin_user)
    assert admin.post(f"/devices/{fleet['a'].pk}/grants/", {"email": viewer_user.email}).status_code == 302
    g = DeviceGrant.objects.get(device=fleet["a"], user=viewer_user)
    assert AuditEntry.objects.filter(action="grant", object_id=str(fleet["a"].pk)).exists()
    page = admin.get("/devices/end-users/")
    assert "alpha" in page.content.decode() or "Front door" in page.content.decode()

    viewer = client_for(viewer_user)
    assert viewer.get(f"/devices/{fleet['a'].pk}/").status_code == 200
    assert viewer.get(f"/devices/{fleet['b'].pk}/").status_code == 404
    assert viewer.get("/api/v1/devices/").json()["results"][0]["name"] == "alpha"

    admin = client_for(admin_user)
    assert admin.post(f"/devices/{fleet['a'].pk}/grants/{g.pk}/revoke/").status_code == 302
    assert not DeviceGrant.objects.filter(pk=g.pk).exists()
    viewer = client_for(viewer_user)
    assert viewer.get(f"/devices/{fleet['a'].pk}/").status_code == 404
    assert viewer.get("/devices/").context["page"].items == []


def test_grant_to_a_non_member_is_refused(client_for, admin_user, foreign_admin, fleet):
    stranger = UserFactory()
    for email in (stranger.email, foreign_admin.email):
        response = client_for(admin_user).post(f"/devices/{fleet['a'].pk}/grants/", {"email": email},
                                               follow=True)
        assert "No member of this company" in response.content.decode()
    assert not DeviceGrant.objects.exists()


def test_grant_on_a_foreign_device_is_404(client_for, admin_user, viewer_user, fleet):
    response = client_for(admin_user).post(f"/devices/{fleet['foreign'].pk}/grants/",
                                           {"email": viewer_user.email})
    assert response.status_code == 404


def test_revoke_of_a_grant_on_another_device_is_404(client_for, admin_user, viewer_user, fleet):
    g = grant(fleet["b"], viewer_user)
    assert client_for(admin_user).post(f"/devices/{fleet['a'].pk}/grants/{g.pk}/revoke/").status_code == 404
    assert DeviceGrant.objects.filter(pk=g.pk).exists()


@pytest.mark.parametrize("user", ["staff_user", "viewer_user"])
def test_only_admins_manage_end_users(client_for, request, fleet, user):
    member = request.getfixturevalue(user)
    client = client_for(member)
    assert client.get("/devices/end-users/").status_code == 403
    assert client.post(f"/devices/{fleet['a'].pk}/grants/", {"email": member.email}).status_code == 403


def test_foreign_admin_cannot_grant_our_devices(client_for, foreign_admin, fleet):
    response = client_for(foreign_admin).post(f"/devices/{fleet['a'].pk}/grants/",
                                              {"email": foreign_admin.email})
    assert response.status_code == 404
