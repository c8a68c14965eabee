"""The cloud connection page: admins only, the SecretKey write-only and never shown."""
import pytest
from django.urls import reverse

from portal.models import AuditEntry, CloudConnection
from tests.factories import CloudConnectionFactory

URL = "/settings/cloud/"
SECRET = "sk-very-secret-0123456789abcdef"


def _post(client, **overrides):
    data = {"kind": "tencent", "endpoint": "", "region": "ap-guangzhou",
            "secret_id": "AKIDexample", "secret_key": ""}
    data.update(overrides)
    return client.post(URL, data)


def test_url_is_named_cloud_settings():
    assert reverse("cloud_settings") == URL


@pytest.mark.django_db
def test_admin_creates_a_connection_and_the_key_is_stored_encrypted(client_for, admin_user, tenant):
    response = _post(client_for(admin_user), secret_key=SECRET)
    assert response.status_code == 302
    connection = CloudConnection.objects.get(tenant=tenant)
    assert connection.kind == "tencent"
    assert connection.secret_key == SECRET
    assert SECRET not in connection.secret_key_encrypted


@pytest.mark.django_db
def test_a_new_connection_needs_a_key(client_for, admin_user, tenant):
    response = _post(client_for(admin_user))
    assert response.status_code == 400
    assert "Enter the SecretKey." in response.content.decode()
    assert not CloudConnection.objects.filter(tenant=tenant).exists()


@pytest.mark.django_db
def test_empty_key_field_keeps_the_stored_key(client_for, admin_user, tenant):
    CloudConnectionFactory(tenant=tenant, secret=SECRET)
    response = _post(client_for(admin_user), region="ap-beijing", secret_id="AKIDnew")
    assert response.status_code == 302
    connection = CloudConnection.objects.get(tenant=tenant)
    assert (connection.region, connection.secret_id) == ("ap-beijing", "AKIDnew")
    assert connection.secret_key == SECRET


@pytest.mark.django_db
def test_a_typed_key_replaces_the_stored_one(client_for, admin_user, tenant):
    CloudConnectionFactory(tenant=tenant, secret=SECRET)
    _post(client_for(admin_user), secret_key="replacement-key")
    assert CloudConnection.objects.get(tenant=tenant).secret_key == "replacement-key"


@pytest.mark.django_db
def test_localcloud_needs_a_valid_url(client_for, admin_user, tenant):
    client = client_for(admin_user)
    response = _post(client, kind="local", endpoint="", secret_key=SECRET)
    assert response.status_code == 400
    assert "localcloud needs its URL." in response.content.decode()
    response = _post(client, kind="local", endpoint="ftp://x", secret_key=SECRET)
    assert response.status_code == 400
    assert "http://" in response.content.decode()
    response = _post(client, kind="local", endpoint="http://127.0.0.1:8010/", secret_key=SECRET)
    assert response.status_code == 302
    assert CloudConnection.objects.get(tenant=tenant).endpoint == "http://127.0.0.1:8010"


@pytest.mark.django_db
def test_the_key_never_appears_in_the_page_the_audit_log_or_errors(client_for, admin_user, tenant):
    client = client_for(admin_user)
    _post(client, secret_key=SECRET)
    _post(client, secret_key="second-" + SECRET, region="ap-shanghai")
    pages = [
        client.get(URL),
        # A rejected form must not echo the typed key back either.
        _post(client, kind="local", endpoint="nonsense", secret_key="third-" + SECRET),
        client.get("/audit/"),
        client.get("/audit/?object_type=portal.CloudConnection"),
        client.get("/settings/members/"),
        client.get("/"),
        client.get("/api/schema/"),
    ]
    encrypted = CloudConnection.objects.get(tenant=tenant).secret_key_encrypted
    for response in pages:
        body = response.content.decode()
        assert SECRET not in body
        assert encrypted not in body
    assert pages[0].status_code == 200
    assert "A key is stored" in pages[0].content.decode()


@pytest.mark.django_db
def test_saves_are_audited_without_the_secret(client_for, admin_user, tenant):
    client = client_for(admin_user)
    _post(client, secret_key=SECRET)
    _post(client, region="ap-beijing")
    created, updated = AuditEntry.objects.filter(object_type="portal.CloudConnection").order_by("id")
    assert created.action == "create" and created.actor == admin_user
    assert created.after["secret_key_changed"] is True
    assert updated.action == "update"
    assert updated.before["region"] == "ap-guangzhou" and updated.after["region"] == "ap-beijing"
    assert updated.after["secret_key_changed"] is False
    for entry in (created, updated):
        dumped = repr(entry.before) + repr(entry.after)
        assert SECRET not in dumped and "secret_key_encrypted" not in dumped


@pytest.mark.django_db
def test_saving_unchanged_values_adds_no_audit_noise(client_for, admin_user, tenant):
    client = client_for(admin_user)
    _post(client, secret_key=SECRET)
    _post(client)
    assert AuditEntry.objects.filter(object_type="portal.CloudConnection").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_lower_roles_cannot_see_or_change_it(request, client_for, tenant, role_user):
    CloudConnectionFactory(tenant=tenant, secret=SECRET)
    client = client_for(request.getfixturevalue(role_user))
    assert client.get(URL).status_code == 403
    assert _post(client, secret_key="hijack").status_code == 403
    assert CloudConnection.objects.get(tenant=tenant).secret_key == SECRET


@pytest.mark.django_db
def test_a_foreign_admin_sees_and_changes_only_their_own(client_for, foreign_admin, tenant, other_tenant):
    CloudConnectionFactory(tenant=tenant, secret=SECRET, secret_id="AKIDacme")
    client = client_for(foreign_admin)
    body = client.get(URL).content.decode()
    assert "AKIDacme" not in body
    _post(client, secret_key="foreign-key")
    assert CloudConnection.objects.get(tenant=tenant).secret_key == SECRET
    assert CloudConnection.objects.get(tenant=other_tenant).secret_key == "foreign-key"


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_the_django_admin_never_shows_the_key_either(client, tenant):
    from tests.factories import UserFactory
    connection = CloudConnectionFactory(tenant=tenant, secret=SECRET)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    for url in ("/django-admin/portal/cloudconnection/",
                f"/django-admin/portal/cloudconnection/{connection.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert SECRET not in body and connection.secret_key_encrypted not in body
