"""The simulator's device client against a live localcloud: it signs as the device API expects,
corrects a skewed clock from the cloud's answer, and reports refusals with the cloud's reason."""
import socket

import pytest

from localcloud.simulator.cloud_api import CloudApiError, device_psk
from localcloud.simulator.device_client import DeviceApiError, DeviceClient
from localcloud.simulator.media import VideoRecorder
from tests.localcloud.device_http import provision, sdk_call


def _client(localcloud, camera, **kwargs) -> DeviceClient:
    return DeviceClient(cloud=localcloud.url, product_id=camera.product_id,
                        device_name=camera.device_name, psk=camera.psk, **kwargs)


def test_heartbeat_and_state_are_signed_and_answered(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    client = _client(localcloud, camera)
    login_time = client.heartbeat()
    assert sdk_call(sdk_client, "DescribeDevice", ProductId=camera.product_id,
                    DeviceName=camera.device_name)["LoginTime"] == login_time
    state = client.cloud_storage()
    assert (state.status, state.type, state.package_id) == (1, 1, "yc1m7d")


def test_a_skewed_device_clock_is_corrected_from_the_cloud(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    client = _client(localcloud, camera)
    client.clock_offset = -3600  # the device's clock is an hour slow
    assert client.heartbeat() > 0
    assert abs(client.clock_offset) < 5


def test_a_refused_upload_carries_the_clouds_reason(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    segment = VideoRecorder(device_name=camera.device_name, start=1_764_300_000).segment(
        2, final=True)
    with pytest.raises(DeviceApiError) as refused:
        _client(localcloud, camera).upload_segment(data=segment.data, start_time=segment.start,
                                                   end_time=segment.end)
    assert refused.value.status == 403
    assert refused.value.code == "no_package"
    assert "No cloud-storage package is in force" in str(refused.value)
    assert not refused.value.retryable


def test_an_unreachable_cloud_is_reported_after_retries(sdk_client, localcloud):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = DeviceClient(cloud=f"http://127.0.0.1:{port}", product_id="P", device_name="d",
                          psk="k", retries=1)
    with pytest.raises(DeviceApiError, match="Cannot reach the cloud") as failed:
        client.heartbeat()
    assert failed.value.retryable


def test_the_psk_lookup_speaks_tc3_to_the_cloud_api(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    assert device_psk(cloud=localcloud.url, product_id=camera.product_id,
                      device_name=camera.device_name, secret_id=localcloud.secret_id,
                      secret_key=localcloud.secret_key) == camera.psk
    with pytest.raises(CloudApiError) as missing:
        device_psk(cloud=localcloud.url, product_id=camera.product_id, device_name="nobody",
                   secret_id=localcloud.secret_id, secret_key=localcloud.secret_key)
    assert missing.value.code == "ResourceNotFound"
    with pytest.raises(CloudApiError) as forged:
        device_psk(cloud=localcloud.url, product_id=camera.product_id,
                   device_name=camera.device_name, secret_id=localcloud.secret_id,
                   secret_key="wrong")
    assert forged.value.code == "AuthFailure.SignatureFailure"
