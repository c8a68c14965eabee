"""The live localcloud fixture answers the official SDK."""
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.iotvideo.v20211125 import models


def test_sdk_reaches_the_live_localcloud(sdk_client, localcloud):
    assert localcloud.url == f"http://{localcloud.endpoint}"
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_client.DescribeProduct(models.DescribeProductRequest())
    # A Tencent error answer, not a transport failure: the server verified our signature.
    assert exc.value.code in {"MissingParameter", "InvalidAction"}
    assert exc.value.requestId
