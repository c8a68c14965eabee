"""LOCALCLOUD_FAULTS makes a share of calls fail or slow down, for resilience tests."""
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from localcloud.api import faults
from tests.localcloud_server import new_product, sdk_call, sdk_client_for, start_localcloud


def test_parse_spec():
    parsed = faults.parse("RequestLimitExceeded:0.2, InternalError:0.05,latency_ms:300")
    assert parsed.failures == [("RequestLimitExceeded", 0.2), ("InternalError", 0.05)]
    assert parsed.latency_ms == 300
    assert faults.parse("") == faults.Faults()


@pytest.mark.parametrize("spec", ["RequestLimitExceeded", "InternalError:lots",
                                  "InternalError:1.5", "latency_ms:-3"])
def test_parse_refuses_nonsense(spec):
    with pytest.raises(ImproperlyConfigured):
        faults.parse(spec)


def test_every_call_throttled(localcloud_factory, sdk_client):
    product_id = new_product(sdk_client)  # made through the healthy door
    throttled = sdk_client_for(localcloud_factory(faults="RequestLimitExceeded:1"))
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(throttled, "DescribeProduct", ProductId=product_id)
    assert exc.value.code == "RequestLimitExceeded"
    assert exc.value.requestId


def test_a_share_of_calls_fail_and_the_rest_see_the_same_cloud(localcloud_factory, sdk_client):
    product_id = new_product(sdk_client)
    flaky = sdk_client_for(localcloud_factory(faults="InternalError:0.5"))
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(sdk_call(flaky, "DescribeProduct", ProductId=product_id).Data.ProductId)
        except TencentCloudSDKException as exc:
            outcomes.append(exc.code)
    failures = outcomes.count("InternalError")
    assert 5 <= failures <= 35  # 0.5 of 40; bounds far outside chance
    assert set(outcomes) == {"InternalError", product_id}


def test_latency(localcloud_factory, sdk_client):
    slow = sdk_client_for(localcloud_factory(faults="latency_ms:400"))
    started = time.monotonic()
    sdk_call(slow, "DescribeProducts")
    assert time.monotonic() - started >= 0.4


def test_a_bad_fault_spec_stops_the_server_from_starting(localcloud):
    with pytest.raises(RuntimeError) as exc:
        start_localcloud(faults="InternalError:lots", share_with=localcloud)
    assert "LOCALCLOUD_FAULTS" in str(exc.value)
