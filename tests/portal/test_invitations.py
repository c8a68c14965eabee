"""Inviting a person to a tenant: emailed link, expiry, single use, wrong token."""
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from portal.models import AuditEntry, Invitation, Membership, Role
from tests.factories import UserFactory

NEW_PASSWORD = "a-long-unusual-password-91"


def _invite(client, email="new.person@example.com", role=Role.STAFF):
    return client.post("/settings/members/invite/", {"email": email, "role": role})


def _link_from_mail() -> str:
    return re.search(r"http://testserver(/accounts/invitation/\S+/)", mail.outbox[-1].body).group(1)


def _signup(client, link, username="newperson"):
    return client.post(link, {"username": username, "password1": NEW_PASSWORD,
                              "password2": NEW_PASSWORD})


@pytest.mark.django_db(transaction=True)
def test_admin_invites_and_the_person_signs_up_into_the_tenant(client_for, admin_user, tenant, client):
    admin_client = client_for(admin_user)
    response = _invite(admin_client)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert "Acme Cameras" in mail.outbox[0].subject
    link = _link_from_mail()
    admin_client.logout()

    page = client.get(link)
    assert page.status_code == 200
    assert "new.person@example.com" in page.content.decode()
    response = _signup(client, link)
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="newperson")
    assert user.email == "new.person@example.com"
    assert Membership.objects.get(user=user).role == Role.STAFF
    home = client.get("/")
    assert home.status_code == 200 and "Acme Cameras" in home.content.decode()
    assert AuditEntry.objects.filter(object_type="portal.Invitation", action="create").exists()
    assert AuditEntry.objects.filter(object_type="portal.Membership", action="create",
                                     actor=user).exists()


@pytest.mark.django_db(transaction=True)
def test_the_link_works_only_once(client_for, admin_user, client):
    _invite(client_for(admin_user))
    link = _link_from_mail()
    client.logout()
    assert _signup(client, link).status_code == 302
    client.logout()
    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert _signup(client, link, username="second").status_code == 410
    assert not get_user_model().objects.filter(username="second").exists()


@pytest.mark.django_db(transaction=True)
@override_settings(INVITATION_MAX_AGE=3600)
def test_the_link_expires(client_for, admin_user, client):
    _invite(client_for(admin_user))
    link = _link_from_mail()
    client.logout()
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=3601)):
        response = client.get(link)
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        assert _signup(client, link).status_code == 410
    assert not get_user_model().objects.filter(username="newperson").exists()


@pytest.mark.django_db
def test_a_wrong_token_is_not_found(client):
    response = client.get("/accounts/invitation/not-a-real-token/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_existing_user_logs_in_and_joins_a_second_tenant(client_for, admin_user, tenant,
                                                           foreign_admin, other_tenant):
    # foreign_admin already belongs to another tenant; the invitation adds a membership.
    _invite(client_for(admin_user), email=foreign_admin.email.upper(), role=Role.VIEWER)
    link = _link_from_mail()
    client = client_for(foreign_admin)
    page = client.get(link)
    assert page.status_code == 200 and "Accept invitation" in page.content.decode()
    response = client.post(link)
    assert response.status_code == 302
    roles = dict(Membership.objects.filter(user=foreign_admin).values_list("tenant__slug", "role"))
    assert roles == {"foreign": Role.ADMIN, "acme": Role.VIEWER}
    # They now work in the tenant they just joined.
    assert "Acme Cameras" in client.get("/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_existing_account_must_log_in_first(client_for, admin_user, client):
    existing = UserFactory(email="known@example.com")
    _invite(client_for(admin_user), email="known@example.com")
    link = _link_from_mail()
    client.logout()
    page = client.get(link)
    assert "Log in to accept" in page.content.decode()
    assert client.post(link, {"username": "x", "password1": NEW_PASSWORD,
                              "password2": NEW_PASSWORD}).status_code == 200
    assert not Membership.objects.filter(user=existing).exists()


@pytest.mark.django_db(transaction=True)
def test_someone_logged_in_with_another_email_cannot_take_it(client_for, admin_user, staff_user):
    _invite(client_for(admin_user), email="someone.else@example.com", role=Role.ADMIN)
    link = _link_from_mail()
    client = client_for(staff_user)
    assert client.post(link).status_code == 403
    assert Membership.objects.get(user=staff_user).role == Role.STAFF
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db(transaction=True)
def test_weak_or_mismatched_passwords_are_refused_with_a_message(client_for, admin_user, client):
    _invite(client_for(admin_user))
    link = _link_from_mail()
    client.logout()
    response = client.post(link, {"username": "np", "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    response = client.post(link, {"username": "np", "password1": NEW_PASSWORD,
                                  "password2": NEW_PASSWORD + "x"})
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db
def test_inviting_a_member_again_is_refused(client_for, admin_user, staff_user):
    response = _invite(client_for(admin_user), email=staff_user.email)
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_bad_email_or_role_is_a_400(client_for, admin_user):
    client = client_for(admin_user)
    assert _invite(client, email="not-an-email").status_code == 400
    assert _invite(client, role="owner").status_code == 400
    assert not Invitation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_only_admins_invite(request, client_for, role_user):
    client = client_for(request.getfixturevalue(role_user))
    assert _invite(client).status_code == 403
    assert not Invitation.objects.exists()
    assert not mail.outbox


@pytest.mark.django_db
def test_admin_withdraws_an_invitation_and_cannot_touch_foreign_ones(client_for, admin_user,
                                                                    other_tenant, tenant):
    mine = Invitation.objects.create(tenant=tenant, email="a@example.com", role=Role.VIEWER)
    theirs = Invitation.objects.create(tenant=other_tenant, email="b@example.com", role=Role.VIEWER)
    client = client_for(admin_user)
    page = client.get("/settings/members/").content.decode()
    assert "a@example.com" in page and "b@example.com" not in page
    assert client.post(f"/settings/invitations/{theirs.id}/revoke/").status_code == 404
    assert client.post(f"/settings/invitations/{mine.id}/revoke/").status_code == 302
    assert list(Invitation.objects.values_list("email", flat=True)) == ["b@example.com"]


@pytest.mark.django_db(transaction=True)
def test_two_people_racing_with_the_same_link_get_one_account(tenant, admin_user):
    """The claim is a conditional UPDATE: of two simultaneous accepts exactly one wins."""
    import threading

    from django.db import connection

    from portal import services

    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database serialises writers at the connection level")
    invitation = Invitation.objects.create(tenant=tenant, email="race@example.com", role=Role.VIEWER)
    barrier = threading.Barrier(2)
    outcomes = []

    def accept(username):
        from django.db import connections
        try:
            barrier.wait()
            services.invitation_accept(invitation=invitation, username=username, password=NEW_PASSWORD)
            outcomes.append("ok")
        except services.ServiceError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("racer1", "racer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert Membership.objects.filter(tenant=tenant, user__email="race@example.com").count() == 1
