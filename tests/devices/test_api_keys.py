# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""Per-tenant API keys: shown once, hashed at rest, revocable, scoped to a tenant and a role."""
import hashlib

import pytest

from devices.api.keys import ApiKey
from tests.devices.test_fleet_support import fleet  # noqa: F401


def _create(client, role="admin"):
    response = client.post("/devices/api-keys/", {"name": "ERP", "role": role})
    assert response.status_code == 200
    return response.context["new_key"], response


def test_key_is_shown_once_and_stored_only_as_a_hash(client_for, admin_user, fleet):
    client = client_for(admin_user)
    full, response = _create(client)
    assert full.startswith("pk_") and full in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get()
    secret = full.split("_", 2)[2]
    assert secret not in key.key_hash and key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert full not in client.get("/devices/api-keys/").content.decode()


def test_key_authenticates_in_its_tenant_with_its_role(client_for, admin_user, fleet, client):
    full, _r = _create(client_for(admin_user), role="staff")
    client.logout()
    response = client.get("/api/v1/devices/", headers={"Authorization": f"Api-Key {full}"})
    assert response.status_code == 200
    assert [d["name"] for d in response.json()["results"]] == ["alpha", "bravo", "charlie"]
    # A staff key cannot write.
    patch = client.patch(f"/api/v1/devices/{fleet['a'].pk}/", {"nickname": "x"},
                         content_type="application/json", headers={"Authorization": f"Api-Key {full}"})
    assert patch.status_code == 403
    assert ApiKey.objects.get().last_used_at is not None


def test_revoked_key_is_refused(client_for, admin_user, fleet, client):
    admin = client_for(admin_user)
    full, _r = _create(admin)
    key = ApiKey.objects.get()
    assert admin.post(f"/devices/api-keys/{key.pk}/revoke/").status_code == 302
    client.logout()
    response = client.get("/api/v1/devices/", headers={"Authorization": f"Api-Key {full}"})
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize("header", ["Api-Key nonsense", "Api-Key pk_abc_def", "Api-Key pk__"])
def test_wrong_or_malformed_key_is_401(client, fleet, header):
    response = client.get("/api/v1/devices/", headers={"Authorization": header})
    assert response.status_code == 401


def test_key_of_another_tenant_sees_only_that_tenant(client_for, foreign_admin, fleet, client):
    full, _r = _create(client_for(foreign_admin))
    client.logout()
    response = client.get("/api/v1/devices/", headers={"Authorization": f"Api-Key {full}"})
    assert [d["name"] for d in response.json()["results"]] == ["foreign1"]
    assert client.get(f"/api/v1/devices/{fleet['a'].pk}/",
                      headers={"Authorization": f"Api-Key {full}"}).status_code == 404


def test_foreign_admin_cannot_revoke_our_key(client_for, admin_user, foreign_admin, fleet):
    _create(client_for(admin_user))
    key = ApiKey.objects.get()
    assert client_for(foreign_admin).post(f"/devices/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.is_active


@pytest.mark.parametrize("user", ["staff_user", "viewer_user"])
def test_only_admins_manage_keys(client_for, request, fleet, user):
    client = client_for(request.getfixturevalue(user))
    assert client.get("/devices/api-keys/").status_code == 403
    assert client.post("/devices/api-keys/", {"name": "x", "role": "admin"}).status_code == 403
    assert not ApiKey.objects.exists()


def test_bad_role_is_a_400(client_for, admin_user, fleet):
    response = client_for(admin_user).post("/devices/api-keys/", {"name": "x", "role": "root"})
    assert response.status_code == 400
