"""`manage.py seed_demo`: demo tenants, one user per role, a localcloud connection; idempotent."""
import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from portal.models import CloudConnection, Membership, Tenant


def _seed(capsys) -> str:
    call_command("seed_demo", "--skip-apps")
    return capsys.readouterr().out


@pytest.mark.django_db
def test_seed_creates_the_demo_and_prints_working_logins(capsys, rf):
    out = _seed(capsys)
    demo = Tenant.objects.get(name="Demo Cameras")
    roles = dict(Membership.objects.filter(tenant=demo).values_list("user__username", "role"))
    assert roles == {"admin": "admin", "staff": "staff", "viewer": "viewer"}
    for username, password in (("admin", "demo-admin-2026"), ("staff", "demo-staff-2026"),
                               ("viewer", "demo-viewer-2026")):
        assert f"{username:<8} password {password}" in out
        assert authenticate(rf.post("/"), username=username, password=password) is not None
    assert "http://127.0.0.1:8000/" in out
    cloud = CloudConnection.objects.get(tenant=demo)
    assert cloud.kind == "local" and cloud.endpoint == settings.LOCALCLOUD_PUBLIC_URL
    assert (cloud.secret_id, cloud.secret_key) == (settings.LOCALCLOUD_SECRET_ID,
                                                   settings.LOCALCLOUD_SECRET_KEY)
    # The admin has a second company, so the switcher shows.
    assert Membership.objects.filter(user__username="admin").count() == 2


@pytest.mark.django_db
def test_seed_is_idempotent(capsys):
    _seed(capsys)
    counts = (Tenant.objects.count(), get_user_model().objects.count(), Membership.objects.count(),
              CloudConnection.objects.count())
    _seed(capsys)
    assert (Tenant.objects.count(), get_user_model().objects.count(), Membership.objects.count(),
            CloudConnection.objects.count()) == counts


@pytest.mark.django_db
def test_seeded_users_see_their_roles_navigation(capsys, client):
    _seed(capsys)
    client.post("/accounts/login/", {"username": "admin", "password": "demo-admin-2026"})
    assert "Audit log" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "viewer", "password": "demo-viewer-2026"})
    body = client.get("/").content.decode()
    assert "Demo Cameras" in body and "Audit log" not in body
