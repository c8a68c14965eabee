"""The profile page: time zone (default: the tenant's) and language (default: the browser's)."""
import pytest

from portal.models import AuditEntry, UserProfile


@pytest.mark.django_db
def test_defaults_are_the_tenants_zone_and_the_browsers_language(client_for, viewer_user):
    body = client_for(viewer_user).get("/settings/profile/").content.decode()
    assert "Company default (Asia/Shanghai)" in body
    assert "Times are shown in Asia/Shanghai." in body


@pytest.mark.django_db
def test_choosing_a_zone_and_chinese_changes_what_the_user_sees(client_for, viewer_user, tenant):
    client = client_for(viewer_user)
    response = client.post("/settings/profile/", {"time_zone": "Europe/Paris", "language": "zh-hans"})
    assert response.status_code == 302
    profile = UserProfile.objects.get(user=viewer_user)
    assert (profile.time_zone, profile.language) == ("Europe/Paris", "zh-hans")
    body = client.get("/settings/profile/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Europe/Paris" in body
    assert "个人资料" in body  # "Profile", despite an English browser
    entry = AuditEntry.objects.get(object_type="portal.UserProfile")
    assert entry.tenant == tenant and entry.after["time_zone"] == "Europe/Paris"


@pytest.mark.django_db
def test_unknown_zone_or_language_is_a_400(client_for, viewer_user):
    client = client_for(viewer_user)
    response = client.post("/settings/profile/", {"time_zone": "Mars/Olympus", "language": ""})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert client.post("/settings/profile/", {"time_zone": "", "language": "klingon"}).status_code == 400
    assert not UserProfile.objects.filter(user=viewer_user).exclude(time_zone="").exists()


@pytest.mark.django_db
def test_empty_choices_go_back_to_the_defaults(client_for, viewer_user):
    UserProfile.objects.create(user=viewer_user, time_zone="Europe/Paris", language="zh-hans")
    client = client_for(viewer_user)
    client.post("/settings/profile/", {"time_zone": "", "language": ""})
    body = client.get("/settings/profile/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Times are shown in Asia/Shanghai." in body


@pytest.mark.django_db
def test_profile_needs_login(client):
    assert client.get("/settings/profile/").status_code == 302
