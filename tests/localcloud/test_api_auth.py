"""TC3 signature checks and the wire envelope of the live cloud API."""
import time

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.localcloud_server import sdk_call, sdk_client_for, signed_post, tc3_headers


def _error(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["Response"]
    assert body["RequestId"]
    return body["Error"]["Code"], body["Error"]["Message"]


def test_a_correctly_signed_raw_request_is_answered(localcloud):
    response = signed_post(localcloud, "DescribeProducts", {"Limit": 1})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["Response"]
    assert "Error" not in body
    assert isinstance(body["TotalCount"], int)
    assert body["RequestId"]


def test_wrong_secret_key_is_a_signature_failure(localcloud):
    client = sdk_client_for(localcloud, secret_key="not-the-key")
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(client, "DescribeProducts")
    assert exc.value.code == "AuthFailure.SignatureFailure"
    assert exc.value.requestId


def test_unknown_secret_id_is_reported(localcloud):
    client = sdk_client_for(localcloud, secret_id="AKIDnobodyhasthisone", secret_key="x")
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(client, "DescribeProducts")
    assert exc.value.code == "AuthFailure.SecretIdNotFound"
    assert "AKIDnobodyhasthisone" in exc.value.message


# +305, not +301: a timestamp ahead of the cloud comes closer while the request travels.
@pytest.mark.parametrize("skew", [-301, 305, -3600])
def test_timestamp_more_than_five_minutes_off_is_expired(localcloud, skew):
    code, message = _error(signed_post(localcloud, "DescribeProducts",
                                       timestamp=int(time.time()) + skew))
    assert code == "AuthFailure.SignatureExpire"
    assert "5 minutes" in message


def test_timestamp_slightly_off_is_accepted(localcloud):
    response = signed_post(localcloud, "DescribeProducts", timestamp=int(time.time()) - 200)
    assert "Error" not in response.json()["Response"]


def test_tampered_body_fails_the_signature(localcloud):
    headers = tc3_headers(host=localcloud.endpoint, action="DescribeProducts", body=b'{"Limit": 1}',
                          secret_id=localcloud.secret_id, secret_key=localcloud.secret_key)
    response = requests.post(localcloud.url + "/", data=b'{"Limit": 2}', headers=headers, timeout=10)
    assert _error(response)[0] == "AuthFailure.SignatureFailure"


def test_signature_for_another_host_fails(localcloud):
    headers = tc3_headers(host="iotvideo.tencentcloudapi.com", action="DescribeProducts", body=b"{}",
                          secret_id=localcloud.secret_id, secret_key=localcloud.secret_key)
    headers["Host"] = localcloud.endpoint  # signed for one host, sent to another
    response = requests.post(localcloud.url + "/", data=b"{}", headers=headers, timeout=10)
    assert _error(response)[0] == "AuthFailure.SignatureFailure"


def test_missing_authorization_is_refused(localcloud):
    response = requests.post(localcloud.url + "/", data=b"{}", timeout=10,
                             headers={"Content-Type": "application/json",
                                      "X-TC-Action": "DescribeProducts"})
    code, message = _error(response)
    assert code == "AuthFailure.InvalidAuthorization"
    assert "Authorization" in message


@pytest.mark.parametrize("authorization", [
    "Basic dXNlcjpwYXNz",
    "TC3-HMAC-SHA256 garbage",
    "TC3-HMAC-SHA256 Credential=AKID/2026-01-01/cvm/tc3_request, SignedHeaders=content-type;host, Signature=ab",
    "TC3-HMAC-SHA256 Credential=AKID/2026-01-01/iotvideo/tc3_request, SignedHeaders=host, Signature=ab",
])
def test_garbled_authorization_is_refused(localcloud, authorization):
    headers = tc3_headers(host=localcloud.endpoint, action="DescribeProducts", body=b"{}",
                          secret_id=localcloud.secret_id, secret_key=localcloud.secret_key)
    headers["Authorization"] = authorization
    response = requests.post(localcloud.url + "/", data=b"{}", headers=headers, timeout=10)
    assert _error(response)[0] == "AuthFailure.InvalidAuthorization"


def test_key_pairs_from_the_command_work_until_revoked(localcloud):
    out = localcloud.manage("localcloud_keys", "create", "--description", "auth test").stdout
    secret_id = out.split("SecretId:")[1].split()[0]
    secret_key = out.split("SecretKey:")[1].split()[0]
    client = sdk_client_for(localcloud, secret_id=secret_id, secret_key=secret_key)
    assert sdk_call(client, "DescribeProducts").TotalCount >= 0
    assert secret_id in localcloud.manage("localcloud_keys", "list").stdout

    localcloud.manage("localcloud_keys", "revoke", secret_id)
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(client, "DescribeProducts")
    assert exc.value.code == "AuthFailure.SecretIdNotFound"
    assert "revoked" in localcloud.manage("localcloud_keys", "list").stdout


def test_revoking_an_unknown_key_fails_clearly(localcloud):
    result = localcloud.manage("localcloud_keys", "revoke", "AKIDunknown", check=False)
    assert result.returncode != 0
    assert "No active key" in result.stderr


def test_unsigned_payload_mode_of_the_sdk(localcloud):
    client = sdk_client_for(localcloud)
    client.profile.unsignedPayload = True
    assert sdk_call(client, "DescribeProducts", Limit=1).TotalCount >= 0
