"""cloud_for(tenant): which endpoint, region and timeouts a tenant's client gets, built without
calling the cloud."""
import pytest

from portal.iotvideo import cloud_for, errors
from tests.factories import CloudConnectionFactory


@pytest.mark.django_db
def test_tenant_on_tencent_gets_tencents_endpoint_with_its_region(tenant):
    CloudConnectionFactory(tenant=tenant, kind="tencent", endpoint="", region="ap-beijing",
                           secret_id="AKIDreal", secret="real-key")
    tenant.refresh_from_db()

    cloud = cloud_for(tenant)
    sdk = cloud.sdk

    assert (cloud.protocol, cloud.endpoint, cloud.region) == (
        "https", "iotvideo.tencentcloudapi.com", "ap-beijing")
    # What the SDK will actually use for the request line, host header and X-TC-Region:
    assert sdk.region == "ap-beijing"
    assert sdk._get_endpoint() == "iotvideo.tencentcloudapi.com"
    assert sdk.profile.httpProfile.scheme == "https"
    assert sdk.credential.secretId == "AKIDreal"
    assert sdk.credential.secretKey == "real-key"


@pytest.mark.django_db
def test_tenant_on_localcloud_gets_plain_http_to_its_host_and_port(tenant):
    CloudConnectionFactory(tenant=tenant, kind="local", endpoint="http://10.1.2.3:8010/",
                           region="ap-guangzhou")
    tenant.refresh_from_db()

    sdk = cloud_for(tenant).sdk

    assert sdk.profile.httpProfile.scheme == "http"
    assert sdk._get_endpoint() == "10.1.2.3:8010"
    assert sdk.region == "ap-guangzhou"


@pytest.mark.django_db
def test_background_work_gets_longer_timeouts_than_pages(tenant):
    CloudConnectionFactory(tenant=tenant)
    tenant.refresh_from_db()

    page = cloud_for(tenant).sdk.profile.httpProfile.reqTimeout
    task = cloud_for(tenant, priority="background").sdk.profile.httpProfile.reqTimeout

    assert page[1] < task[1]


@pytest.mark.django_db
def test_clients_are_reused_until_the_connection_changes(tenant):
    connection = CloudConnectionFactory(tenant=tenant)
    tenant.refresh_from_db()
    first = cloud_for(tenant).sdk
    assert cloud_for(tenant).sdk is first  # same keep-alive session

    connection.secret_id = "AKIDrotated"
    connection.save()
    tenant.refresh_from_db()

    rebuilt = cloud_for(tenant).sdk
    assert rebuilt is not first
    assert rebuilt.credential.secretId == "AKIDrotated"


@pytest.mark.django_db
def test_tenant_without_a_connection_gets_a_clear_error(tenant):
    with pytest.raises(errors.NotConfigured) as caught:
        cloud_for(tenant)
    assert "not set up" in caught.value.message


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["ftp://host:21", "http://host:8010/api"])
def test_unusable_localcloud_urls_are_refused(tenant, endpoint):
    CloudConnectionFactory(tenant=tenant, endpoint=endpoint)
    tenant.refresh_from_db()
    with pytest.raises(errors.NotConfigured):
        cloud_for(tenant)


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "detail"), [
    ("UnsupportedRegion", "The region is not supported."),
    ("InvalidParameterValue", "Region ap-nowhere does not exist."),
])
def test_wrong_region_is_named_in_the_connection_check(tenant, code, detail):
    # Tencent answers a wrong region this way; it is not called here, so the verdict is built
    # from the error it would raise.
    from portal.iotvideo.client import _connection_message

    CloudConnectionFactory(tenant=tenant, kind="tencent", region="ap-nowhere")
    tenant.refresh_from_db()
    cloud = cloud_for(tenant)
    message = _connection_message(errors.from_code(code, detail, "req"), cloud,
                                  "https://iotvideo.tencentcloudapi.com")
    assert "ap-nowhere" in message and "region" in message
