"""The members page: list, change role, remove; never across tenants, never below admin."""
import pytest

from portal.models import AuditEntry, Membership, Role
from tests.factories import MembershipFactory

URL = "/settings/members/"


@pytest.mark.django_db
def test_admin_sees_the_members_of_the_current_tenant_only(client_for, admin_user, staff_user,
                                                           viewer_user, foreign_admin):
    body = client_for(admin_user).get(URL).content.decode()
    for user in (admin_user, staff_user, viewer_user):
        assert user.username in body
    assert foreign_admin.username not in body


@pytest.mark.django_db
def test_admin_changes_a_role_and_it_is_audited(client_for, admin_user, staff_user):
    membership = Membership.objects.get(user=staff_user)
    response = client_for(admin_user).post(f"{URL}{membership.id}/role/", {"role": Role.VIEWER})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    entry = AuditEntry.objects.get(object_type="portal.Membership", action="update")
    assert (entry.before["role"], entry.after["role"], entry.actor) == ("staff", "viewer", admin_user)


@pytest.mark.django_db
def test_admin_removes_a_member_and_it_is_audited(client_for, admin_user, viewer_user):
    membership = Membership.objects.get(user=viewer_user)
    response = client_for(admin_user).post(f"{URL}{membership.id}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.id).exists()
    entry = AuditEntry.objects.get(object_type="portal.Membership", action="delete")
    assert entry.before["role"] == "viewer" and entry.object_id == str(membership.id)


@pytest.mark.django_db
def test_the_last_admin_can_neither_be_demoted_nor_removed(client_for, admin_user):
    membership = Membership.objects.get(user=admin_user)
    client = client_for(admin_user)
    response = client.post(f"{URL}{membership.id}/role/", {"role": Role.VIEWER})
    assert response.status_code == 400
    assert "at least one admin" in response.content.decode()
    response = client.post(f"{URL}{membership.id}/remove/")
    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


@pytest.mark.django_db
def test_an_admin_may_step_down_when_another_admin_exists(client_for, admin_user, tenant):
    MembershipFactory(tenant=tenant, role=Role.ADMIN)
    membership = Membership.objects.get(user=admin_user)
    client = client_for(admin_user)
    assert client.post(f"{URL}{membership.id}/role/", {"role": Role.STAFF}).status_code == 302
    # No longer admin: the page is closed to them now.
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_an_unknown_role_is_a_400(client_for, admin_user, staff_user):
    membership = Membership.objects.get(user=staff_user)
    response = client_for(admin_user).post(f"{URL}{membership.id}/role/", {"role": "owner"})
    assert response.status_code == 400
    assert "Choose a valid role." in response.content.decode()


@pytest.mark.django_db
def test_a_foreign_admin_gets_404_for_our_memberships(client_for, staff_user, foreign_admin):
    membership = Membership.objects.get(user=staff_user)
    client = client_for(foreign_admin)
    assert client.post(f"{URL}{membership.id}/role/", {"role": Role.ADMIN}).status_code == 404
    assert client.post(f"{URL}{membership.id}/remove/").status_code == 404
    membership.refresh_from_db()
    assert membership.role == Role.STAFF


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_lower_roles_cannot_manage_members(request, client_for, admin_user, role_user):
    user = request.getfixturevalue(role_user)
    client = client_for(user)
    admin_membership = Membership.objects.get(user=admin_user)
    assert client.get(URL).status_code == 403
    assert client.post(f"{URL}{admin_membership.id}/remove/").status_code == 403
    own = Membership.objects.get(user=user)
    assert client.post(f"{URL}{own.id}/role/", {"role": Role.ADMIN}).status_code == 403
    own.refresh_from_db()
    assert own.role != Role.ADMIN


@pytest.mark.django_db
def test_member_actions_need_post(client_for, admin_user, staff_user):
    membership = Membership.objects.get(user=staff_user)
    assert client_for(admin_user).get(f"{URL}{membership.id}/remove/").status_code == 405
