"""Login, logout, throttling (django-axes) and session expiry."""
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def _login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.mark.django_db
def test_login_with_the_right_password_lands_on_home(client, admin_user):
    response = _login(client, admin_user.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Acme Cameras" in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_wrong_password_shows_the_form_again(client, admin_user):
    response = _login(client, admin_user.username, "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_logout_ends_the_session(client_for, admin_user):
    client = client_for(admin_user)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_even_for_the_right_password(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, admin_user.username, "wrong").status_code == 200
    locked = _login(client, admin_user.username, "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    response = _login(client, admin_user.username, PASSWORD)
    assert response.status_code == 429
    assert client.get("/").status_code == 302  # still not logged in


@pytest.mark.django_db
def test_the_lock_is_per_username_so_others_can_still_log_in(client, admin_user, staff_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, admin_user.username, "wrong")
    assert _login(client, staff_user.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, admin_user.username, "wrong")
    later = timezone.now() + timezone.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    with time_machine.travel(later):
        assert _login(client, admin_user.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_session_expires_after_inactivity(client, admin_user):
    _login(client, admin_user.username, PASSWORD)
    assert client.get("/").status_code == 200
    later = timezone.now() + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.django_db
def test_activity_keeps_the_session_alive(client, admin_user):
    _login(client, admin_user.username, PASSWORD)
    step = timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE * 0.75)
    now = timezone.now()
    for i in (1, 2):
        with time_machine.travel(now + step * i):
            assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_login_page_is_translatable_from_the_browser(client):
    body = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "登录" in body and 'lang="zh-hans"' in body
    assert "Log in" in client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_a_visitor_can_switch_the_login_page_to_chinese(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": LOGIN})
    assert response.status_code == 302
    assert "登录" in client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()
