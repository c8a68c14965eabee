"""The "Test connection" button and the "Cloud calls" page: admins of the tenant only."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.iotvideo.models import CloudCall
from tests.portal.iotvideo.conftest import connect

pytestmark = pytest.mark.django_db

TEST_URL = "/settings/cloud/test/"
CALLS_URL = "/settings/cloud/calls/"


def test_urls_are_where_the_settings_page_expects_them():
    assert reverse("cloud_test") == TEST_URL
    assert reverse("cloud_calls") == CALLS_URL


# --- Test connection ------------------------------------------------------------------------

def test_admin_tests_the_connection_with_htmx_and_sees_the_verdict(
        client_for, admin_user, cloud_tenant):
    response = client_for(admin_user).post(TEST_URL, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Connection works" in body
    assert "<html" not in body  # a partial for #cloud-test-result


def test_without_javascript_the_verdict_comes_back_on_the_settings_page(
        client_for, admin_user, tenant, localcloud):
    connect(tenant, localcloud, secret_key="wrong")
    response = client_for(admin_user).post(TEST_URL, follow=True)
    assert response.redirect_chain[-1][0] == reverse("cloud_settings")
    body = response.content.decode()
    assert "SecretKey does not match" in body


def test_admin_without_a_connection_is_told_to_set_one_up(client_for, admin_user, tenant):
    response = client_for(admin_user).post(TEST_URL, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "not set up its cloud connection" in response.content.decode()


def test_foreign_admin_tests_only_their_own_connection(
        client_for, foreign_admin, cloud_tenant):
    # The other company has no connection; ours (cloud_tenant) is never tried for them.
    response = client_for(foreign_admin).post(TEST_URL, HTTP_HX_REQUEST="true")
    assert "not set up its cloud connection" in response.content.decode()
    assert not CloudCall.objects.filter(tenant=cloud_tenant).exists()


@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_lower_roles_cannot_test_the_connection(client_for, request, cloud_tenant, role_user):
    user = request.getfixturevalue(role_user)
    response = client_for(user).post(TEST_URL, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert not CloudCall.objects.filter(tenant=cloud_tenant).exists()


def test_testing_needs_a_post(client_for, admin_user, cloud_tenant):
    assert client_for(admin_user).get(TEST_URL).status_code == 405


def test_anonymous_is_sent_to_login(client):
    response = client.post(TEST_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Cloud calls page -----------------------------------------------------------------------

def _calls(tenant, action, *, ago, calls, errors=0, throttles=0):
    minute = (timezone.now() - ago).replace(second=0, microsecond=0)
    return CloudCall.objects.create(tenant=tenant, action=action, minute=minute, calls=calls,
                                    errors=errors, throttles=throttles, duration_ms=calls * 40)


def test_admin_sees_calls_errors_and_throttles_per_action(
        client_for, admin_user, tenant, other_tenant):
    _calls(tenant, "DescribeCloudStorageTime", ago=dt.timedelta(hours=1), calls=7, errors=2,
           throttles=1)
    _calls(tenant, "DescribeCloudStorageTime", ago=dt.timedelta(hours=3), calls=3)
    _calls(tenant, "GenerateSignedVideoURL", ago=dt.timedelta(minutes=5), calls=4)
    _calls(tenant, "DescribeDevices", ago=dt.timedelta(hours=30), calls=99)  # too old
    _calls(other_tenant, "ForeignAction", ago=dt.timedelta(minutes=5), calls=987654)

    response = client_for(admin_user).get(CALLS_URL)

    assert response.status_code == 200
    rows = {a.action: a for a in response.context["by_action"]}
    assert set(rows) == {"DescribeCloudStorageTime", "GenerateSignedVideoURL"}
    assert (rows["DescribeCloudStorageTime"].calls, rows["DescribeCloudStorageTime"].errors,
            rows["DescribeCloudStorageTime"].throttles) == (10, 2, 1)
    assert rows["DescribeCloudStorageTime"].avg_ms == 40
    assert response.context["totals"]["calls"] == 14
    body = response.content.decode()
    # A number no clock or total on the page can contain by chance.
    assert "ForeignAction" not in body and "987654" not in body and "987,654" not in body
    assert "<svg" in body and len(response.context["chart"]["bars"]) == 25


def test_hours_on_the_chart_are_in_the_users_time_zone(client_for, admin_user, tenant):
    tenant.time_zone = "Asia/Shanghai"
    tenant.save()
    response = client_for(admin_user).get(CALLS_URL)
    first = response.context["chart"]["bars"][0]["stats"].hour
    label = timezone.localtime(first, timezone=dt.timezone(dt.timedelta(hours=8)))
    assert label.strftime("%H:%M") in response.content.decode()


def test_an_empty_day_says_so(client_for, admin_user):
    response = client_for(admin_user).get(CALLS_URL)
    assert "No calls to the cloud in the last 24 hours." in response.content.decode()


@pytest.mark.parametrize("role_user", ["staff_user", "viewer_user"])
def test_lower_roles_cannot_see_cloud_calls(client_for, request, role_user):
    user = request.getfixturevalue(role_user)
    assert client_for(user).get(CALLS_URL).status_code == 403


def test_foreign_admin_sees_only_their_company(client_for, foreign_admin, tenant):
    _calls(tenant, "DescribeDevices", ago=dt.timedelta(minutes=1), calls=5)
    response = client_for(foreign_admin).get(CALLS_URL)
    assert response.context["by_action"] == []
