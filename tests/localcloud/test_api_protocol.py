"""Dispatch and parameter errors of the live cloud API: always HTTP 200, Tencent's envelope,
a code the SDK raises and a message that says what was wrong — never a 5xx."""
import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.localcloud_server import sdk_call, signed_post, tc3_headers


def _error(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["Response"]
    assert body["RequestId"]
    return body["Error"]["Code"], body["Error"]["Message"]


def test_unknown_action(localcloud):
    code, message = _error(signed_post(localcloud, "DescribeUnicorns"))
    assert code == "InvalidAction"
    assert "DescribeUnicorns" in message


def test_wrong_api_version(localcloud):
    code, message = _error(signed_post(localcloud, "DescribeProducts", version="2019-11-26"))
    assert code == "NoSuchVersion"
    assert "2021-11-25" in message


def test_malformed_json(localcloud):
    code, message = _error(signed_post(localcloud, "DescribeProducts", b'{"Limit": 1,'))
    assert code == "InvalidParameter"
    assert "JSON" in message


def test_body_that_is_not_an_object(localcloud):
    code, message = _error(signed_post(localcloud, "DescribeProducts", b"[1, 2]"))
    assert code == "InvalidParameter"
    assert "object" in message


def test_wrong_content_type(localcloud):
    code, message = _error(signed_post(localcloud, "DescribeProducts", b"{}",
                                       content_type="text/plain"))
    assert code == "InvalidParameter"
    assert "application/json" in message


def test_get_is_not_the_api(localcloud):
    code, _ = _error(requests.get(localcloud.url + "/", timeout=10))
    assert code in {"UnsupportedProtocol", "AuthFailure.InvalidAuthorization"}


def test_unknown_parameter(localcloud):
    code, message = _error(signed_post(localcloud, "DescribeProducts", {"Limit": 1, "Colour": "red"}))
    assert code == "UnknownParameter"
    assert "Colour" in message


def test_missing_parameter(sdk_client):
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeDevice", ProductId="ABCDEFGHIJ")
    assert exc.value.code == "MissingParameter"
    assert "DeviceName" in exc.value.message


@pytest.mark.parametrize("body, name", [
    ({"Limit": "10"}, "Limit"),
    ({"Limit": 1.5}, "Limit"),
    ({"Limit": True}, "Limit"),
    ({"Offset": [0]}, "Offset"),
])
def test_wrong_types(localcloud, body, name):
    code, message = _error(signed_post(localcloud, "DescribeProducts", body))
    assert code == "InvalidParameter"
    assert name in message and "integer" in message


def test_string_where_a_list_belongs(localcloud):
    code, message = _error(signed_post(localcloud, "CreateProduct",
                                       {"ProductName": "x", "Features": "ypsxth"}))
    assert code == "InvalidParameter"
    assert "Features" in message


@pytest.mark.parametrize("limit", [101, 0, -1, 10**30])
def test_oversized_or_impossible_pages(localcloud, limit):
    code, message = _error(signed_post(localcloud, "DescribeProducts", {"Limit": limit}))
    assert code == "InvalidParameterValue"
    assert "Limit" in message


def test_unicode_and_huge_values_never_give_a_5xx(localcloud):
    code, _ = _error(signed_post(localcloud, "DescribeProduct", {"ProductId": "设备" * 100}))
    assert code == "InvalidParameter"
    code, _ = _error(signed_post(localcloud, "DescribeBatch", {"BatchId": 1e308}))
    assert code in {"InvalidParameterValue", "ResourceNotFound"}


def test_non_utf8_body(localcloud):
    headers = tc3_headers(host=localcloud.endpoint, action="DescribeProducts", body=b"\xff\xfe{}",
                          secret_id=localcloud.secret_id, secret_key=localcloud.secret_key)
    response = requests.post(localcloud.url + "/", data=b"\xff\xfe{}", headers=headers, timeout=10)
    assert _error(response)[0] == "InvalidParameter"


def test_every_answer_has_a_fresh_request_id(localcloud):
    first = signed_post(localcloud, "DescribeProducts").json()["Response"]["RequestId"]
    second = signed_post(localcloud, "DescribeProducts").json()["Response"]["RequestId"]
    assert first != second


def test_oversized_body(localcloud):
    body = b'{"Pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    code, message = _error(signed_post(localcloud, "DescribeProducts", body))
    assert code == "RequestSizeLimitExceeded"
    assert "bytes" in message


def test_any_host_name_the_client_signed_is_served(localcloud):
    """Behind a load balancer the SDK's endpoint is a public name, not 127.0.0.1."""
    headers = tc3_headers(host="iotvideo.example.com", action="DescribeProducts", body=b"{}",
                          secret_id=localcloud.secret_id, secret_key=localcloud.secret_key)
    response = requests.post(localcloud.url + "/", data=b"{}", headers=headers, timeout=10)
    assert "Error" not in response.json()["Response"]
