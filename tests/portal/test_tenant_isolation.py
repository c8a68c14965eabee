"""Tenant isolation: selectors take the tenant, views take it from the session checked against
memberships; nothing of tenant B reaches a user of tenant A, whatever their role."""
import pytest
from django.http import Http404

from devices.models import Device, DeviceGrant, Product
from devices.selectors import device_list_visible
from portal import selectors
from portal.audit import audit_record
from portal.middleware import SESSION_TENANT_KEY
from portal.models import CloudConnection, Invitation, Membership, Role
from tests.factories import CloudConnectionFactory, UserFactory

ROLES = ["admin_user", "staff_user", "viewer_user"]


@pytest.fixture
def foreign_data(other_tenant, foreign_admin):
    CloudConnectionFactory(tenant=other_tenant, secret_id="AKIDforeignonly", secret="foreign-secret")
    audit_record(tenant=other_tenant, actor=foreign_admin, action="update",
                 object_type="foreign.Thing", object_id="7", object_repr="foreign-object-repr")
    invitation = Invitation.objects.create(tenant=other_tenant, email="foreign-invitee@example.com",
                                           role=Role.VIEWER)
    return {"membership": Membership.objects.get(user=foreign_admin), "invitation": invitation}


@pytest.mark.django_db
def test_selectors_only_return_the_given_tenants_rows(tenant, other_tenant, admin_user, foreign_data):
    audit_record(tenant=tenant, action="create", object_type="x.Y", object_id="1")
    assert set(selectors.audit_entry_list(tenant=tenant).values_list("tenant", flat=True)) == {tenant.id}
    assert all(m.tenant_id == tenant.id for m in selectors.member_list(tenant=tenant))
    assert not selectors.invitation_list_pending(tenant=tenant).exists()
    assert selectors.cloud_connection_get(tenant=tenant) is None
    assert selectors.audit_filter_values(tenant=tenant) == (["x.Y"], ["create"])
    with pytest.raises(Http404):
        selectors.member_get(tenant=tenant, membership_id=foreign_data["membership"].id)
    with pytest.raises(Http404):
        selectors.invitation_get(tenant=tenant, invitation_id=foreign_data["invitation"].id)


@pytest.mark.django_db
def test_membership_get_ignores_a_tenant_the_user_does_not_belong_to(viewer_user, tenant, other_tenant):
    found = selectors.membership_get(user=viewer_user, tenant_id=other_tenant.id)
    assert found.tenant == tenant


@pytest.mark.django_db
def test_device_selector_scopes_by_tenant_and_viewer_grants(tenant, other_tenant, admin_user, viewer_user):
    ours = Product.objects.create(tenant=tenant, product_id="P1", name="ours")
    theirs = Product.objects.create(tenant=other_tenant, product_id="P2", name="theirs")
    granted = Device.objects.create(tenant=tenant, product=ours, name="granted")
    Device.objects.create(tenant=tenant, product=ours, name="not-granted")
    Device.objects.create(tenant=other_tenant, product=theirs, name="foreign")
    DeviceGrant.objects.create(device=granted, user=viewer_user)
    admin_sees = device_list_visible(tenant=tenant, user=admin_user, role=Role.ADMIN)
    viewer_sees = device_list_visible(tenant=tenant, user=viewer_user, role=Role.VIEWER)
    assert set(admin_sees.values_list("name", flat=True)) == {"granted", "not-granted"}
    assert set(viewer_sees.values_list("name", flat=True)) == {"granted"}


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ROLES)
def test_no_page_shows_foreign_data_to_any_role(request, client_for, role_user, foreign_data):
    client = client_for(request.getfixturevalue(role_user))
    for url in ["/", "/settings/profile/", "/settings/members/", "/settings/cloud/", "/audit/",
                "/audit/?object_type=foreign.Thing", "/accounts/password/change/"]:
        response = client.get(url)
        assert response.status_code in (200, 400, 403), url
        body = response.content.decode()
        for leak in ("Foreign Cams", "AKIDforeignonly", "foreign-object-repr",
                     "foreign-invitee@example.com", "foreign-secret"):
            assert leak not in body, (url, leak)


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ROLES)
def test_foreign_object_ids_are_404_or_403_for_any_role(request, client_for, role_user, foreign_data):
    client = client_for(request.getfixturevalue(role_user))
    m, inv = foreign_data["membership"], foreign_data["invitation"]
    expected = 404 if role_user == "admin_user" else 403
    assert client.post(f"/settings/members/{m.id}/role/", {"role": "viewer"}).status_code == expected
    assert client.post(f"/settings/members/{m.id}/remove/").status_code == expected
    assert client.post(f"/settings/invitations/{inv.id}/revoke/").status_code == expected
    m.refresh_from_db()
    assert m.role == Role.ADMIN
    assert Invitation.objects.filter(pk=inv.id).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ROLES)
def test_a_tampered_session_tenant_falls_back_to_the_users_own(request, client_for, role_user,
                                                                other_tenant, foreign_data):
    client = client_for(request.getfixturevalue(role_user))
    session = client.session
    session[SESSION_TENANT_KEY] = other_tenant.id
    session.save()
    body = client.get("/").content.decode()
    assert "<h1>Acme Cameras</h1>" in body and "Foreign Cams" not in body


@pytest.mark.django_db
def test_a_form_field_cannot_pick_the_tenant(client_for, admin_user, tenant, other_tenant):
    """Forms ignore any tenant a user slips in; the tenant comes from the session."""
    client = client_for(admin_user)
    client.post("/settings/cloud/", {"tenant": other_tenant.id, "kind": "tencent",
                                     "region": "ap-guangzhou", "secret_id": "AKIDx",
                                     "secret_key": "k"})
    assert list(CloudConnection.objects.values_list("tenant", flat=True)) == [tenant.id]


@pytest.mark.django_db
def test_a_user_without_membership_sees_no_tenant_data(client, foreign_data):
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/no-company/"
    for url in ("/audit/", "/settings/members/", "/settings/cloud/"):
        assert client.get(url).status_code == 302
    assert client.get("/no-company/").status_code == 403
