"""Each role's navigation shows only what that role may use; the tenant switcher."""
import pytest

from portal.models import Role
from tests.factories import MembershipFactory


def _nav(client) -> str:
    body = client.get("/").content.decode()
    return body.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]


@pytest.mark.django_db
def test_admin_navigation(client_for, admin_user):
    nav = _nav(client_for(admin_user))
    assert "Audit log" in nav and "Settings" in nav


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_lower_roles_do_not_see_admin_links(request, client_for, role_user):
    nav = _nav(client_for(request.getfixturevalue(role_user)))
    assert "Audit log" not in nav
    assert "Settings" in nav  # their profile and password


@pytest.mark.django_db
def test_settings_lands_admins_on_members_and_others_on_their_profile(client_for, admin_user, viewer_user):
    assert client_for(admin_user).get("/settings/")["Location"] == "/settings/members/"
    assert client_for(viewer_user).get("/settings/")["Location"] == "/settings/profile/"


@pytest.mark.django_db
def test_role_links_of_other_apps_follow_the_role(client_for, admin_user, staff_user, viewer_user):
    """Cameras for everyone, Packages for admin + staff, Devices for admins: shown when those
    apps' URLs exist, never to a role that may not use them."""
    from django.urls import NoReverseMatch, reverse

    def exists(name):
        try:
            reverse(name)
            return True
        except NoReverseMatch:
            return False

    expected = {
        "admin": {"Cameras": exists("playback:cameras"), "Devices": exists("devices:fleet"),
                  "Packages": exists("devices:orders")},
        "staff": {"Cameras": exists("playback:cameras"), "Devices": False,
                  "Packages": exists("devices:orders")},
        "viewer": {"Cameras": exists("playback:cameras"), "Devices": False, "Packages": False},
    }
    for user, role in ((admin_user, "admin"), (staff_user, "staff"), (viewer_user, "viewer")):
        nav = _nav(client_for(user))
        for label, shown in expected[role].items():
            assert (f">{label}<" in nav) is shown, (role, label)


@pytest.mark.django_db
def test_switcher_lists_every_tenant_of_the_user_and_switches(client_for, admin_user, tenant, other_tenant):
    MembershipFactory(user=admin_user, tenant=other_tenant, role=Role.VIEWER)
    client = client_for(admin_user)
    home = client.get("/").content.decode()
    assert 'name="tenant"' in home and "Foreign Cams" in home and "Acme Cameras" in home
    response = client.post("/tenant/switch/", {"tenant": other_tenant.id})
    assert response.status_code == 302
    home = client.get("/").content.decode()
    assert "<h1>Foreign Cams</h1>" in home
    assert "Audit log" not in _nav(client)  # a viewer there
    assert client.get("/audit/").status_code == 403
    client.post("/tenant/switch/", {"tenant": tenant.id})
    assert client.get("/audit/").status_code == 200


@pytest.mark.django_db
def test_switching_to_a_tenant_you_do_not_belong_to_is_refused(client_for, viewer_user, tenant, other_tenant):
    client = client_for(viewer_user)
    client.post("/tenant/switch/", {"tenant": other_tenant.id})
    body = client.get("/").content.decode()
    assert "<h1>Acme Cameras</h1>" in body and "Foreign Cams" not in body
    client.post("/tenant/switch/", {"tenant": "nonsense"})
    assert "<h1>Acme Cameras</h1>" in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_single_tenant_user_sees_no_switcher(client_for, viewer_user):
    assert 'name="tenant"' not in client_for(viewer_user).get("/").content.decode()


@pytest.mark.django_db
def test_pages_carry_the_csrf_header_for_htmx_and_a_csp_nonce_free_layout(client_for, admin_user):
    response = client_for(admin_user).get("/")
    body = response.content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "htmx-2.0.11.min.js" in body
    assert "<style" not in body and " style=" not in body
    assert "<script>" not in body  # no inline scripts: the CSP forbids them
    assert 'name="viewport"' in body


@pytest.mark.django_db
def test_a_page_above_your_role_explains_itself_in_the_layout(client_for, staff_user):
    response = client_for(staff_user).get("/audit/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body and 'class="mainnav"' in body


@pytest.mark.django_db
def test_home_names_the_tenant_and_the_role(client_for, viewer_user):
    body = client_for(viewer_user).get("/").content.decode()
    assert "<h1>Acme Cameras</h1>" in body
    assert "You are signed in as Viewer." in body
    assert "Acme Cameras · Viewer" in body  # the top bar, where there is no switcher
