import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from portal.iotvideo import errors


@pytest.mark.parametrize(("code", "cls", "retryable"), [
    ("AuthFailure.SignatureFailure", errors.AuthFailed, False),
    ("AuthFailure.SecretIdNotFound", errors.AuthFailed, False),
    ("UnauthorizedOperation.NoPermission", errors.AuthFailed, False),
    ("ResourceNotFound.DeviceNotExist", errors.NotFound, False),
    ("InvalidParameterValue", errors.InvalidRequest, False),
    ("MissingParameter", errors.InvalidRequest, False),
    ("FailedOperation.PackageQueueFull", errors.InvalidRequest, False),
    ("RequestLimitExceeded", errors.Throttled, True),
    ("RequestLimitExceeded.UinLimitExceeded", errors.Throttled, True),
    ("InternalError", errors.Unavailable, True),
    ("ClientNetworkError", errors.Unavailable, True),
    ("ServerNetworkError", errors.Unavailable, True),
    ("UnsupportedOperation", errors.Unsupported, False),
    ("UnsupportedRegion", errors.Unsupported, False),
    ("InvalidAction", errors.Unsupported, False),
    ("SomethingNew", errors.CloudError, False),
])
def test_sdk_codes_become_domain_errors(code, cls, retryable):
    err = errors.from_sdk_error(TencentCloudSDKException(code, "detail", "req-1"),
                                action="DescribeDevice")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.code == code
    assert err.request_id == "req-1"
    assert err.action == "DescribeDevice"
    assert err.message  # always a sentence for a person


def test_message_keeps_the_clouds_reason_when_the_request_was_refused():
    err = errors.from_sdk_error(TencentCloudSDKException(
        "FailedOperation", "picture-stream devices only take event packages", "r"))
    assert "picture-stream devices only take event packages" in err.message


def test_message_for_wrong_keys_does_not_leak_raw_codes():
    err = errors.from_sdk_error(TencentCloudSDKException(
        "AuthFailure.SignatureFailure", "The provided credentials could not be validated.", "r"))
    assert "SecretKey" in err.message
    assert "AuthFailure" not in err.message


def test_raw_http_bodies_are_decoded():
    err = errors.from_sdk_error(TencentCloudSDKException("ServerNetworkError", b"<html>502</html>"))
    assert isinstance(err, errors.Unavailable)
    assert err.detail == "<html>502</html>"


def test_an_answer_that_is_not_the_clouds_is_unavailable_but_not_worth_retrying():
    err = errors.from_sdk_error(TencentCloudSDKException("JSONDecodeError", "Expecting value"))
    assert isinstance(err, errors.Unavailable)
    assert err.retryable is False
    assert "not as an IoT Video cloud" in err.message
