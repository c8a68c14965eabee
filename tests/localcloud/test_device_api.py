"""The device API (docs/device-api.md) against a live runlocalcloud: authentication, state,
segment, event and picture-stream uploads and every refusal a device can meet."""
import time
import uuid

import pytest

from tests.localcloud import media_factory as media
from tests.localcloud.device_http import buy, provision, sdk_call


@pytest.fixture(scope="module")
def segment_10s():
    return media.ts_segment(10)


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error["message"]


# --- authentication -----------------------------------------------------------------------
def test_heartbeat_sets_the_login_time_describe_device_reports(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    before = sdk_call(sdk_client, "DescribeDevice", ProductId=camera.product_id,
                      DeviceName=camera.device_name)
    assert before["LoginTime"] == 0
    answer = camera.heartbeat()
    assert answer.status_code == 200, answer.text
    after = sdk_call(sdk_client, "DescribeDevice", ProductId=camera.product_id,
                     DeviceName=camera.device_name)
    assert after["LoginTime"] == answer.json()["login_time"]
    assert abs(after["LoginTime"] - time.time()) < 5


def test_a_wrong_psk_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    _error(camera.heartbeat(psk="not-the-psk"), 401, "bad_signature")


def test_a_signature_over_another_path_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    _error(camera.heartbeat(sign_path="/device/v1/cloud-storage"), 401, "bad_signature")


def test_a_replayed_nonce_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    assert camera.heartbeat(nonce="nonce-0001").status_code == 200
    _error(camera.heartbeat(nonce="nonce-0001"), 401, "replay")


def test_a_stale_timestamp_is_refused_with_the_server_time(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    answer = camera.heartbeat(timestamp=int(time.time()) - 301)
    _error(answer, 401, "stale_timestamp")
    assert abs(answer.json()["error"]["server_time"] - time.time()) < 5
    _error(camera.heartbeat(timestamp=int(time.time()) + 400), 401, "stale_timestamp")


def test_an_unknown_device_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    camera.device_name = "no-such-device"
    _error(camera.heartbeat(), 401, "unknown_device")


def test_missing_signature_headers_are_refused(localcloud):
    import requests

    answer = requests.post(localcloud.url + "/device/v1/heartbeat", timeout=10)
    _error(answer, 401, "bad_signature")


def test_a_disabled_device_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    sdk_call(sdk_client, "ModifyDevice", ProductId=camera.product_id,
             DeviceName=camera.device_name, EnableState=0)
    _error(camera.heartbeat(), 403, "device_disabled")


# --- cloud-storage state ------------------------------------------------------------------
def test_state_without_a_package_says_off(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    answer = camera.state()
    assert answer.status_code == 200
    assert answer.json() | {"server_time": 0} == {
        "channel": 0, "status": 0, "type": 0, "package_id": "", "expire_time": 0,
        "shift_duration": 0, "server_time": 0}


def test_state_shows_the_package_in_force(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    state = camera.state().json()
    cloud = sdk_call(sdk_client, "DescribeCloudStorage", ProductId=camera.product_id,
                     DeviceName=camera.device_name)
    assert (state["status"], state["type"], state["package_id"], state["shift_duration"]) == \
        (1, 1, "yc1m7d", 7)
    assert state["expire_time"] == cloud["ExpireTime"]


def test_state_of_a_channel_of_a_camera_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    _error(camera.state(channel=2), 400, "bad_request")


# --- segments -----------------------------------------------------------------------------
def test_a_continuous_segment_with_a_full_time_package_is_stored(sdk_client, localcloud,
                                                                 segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m30d")
    start = int(time.time())
    answer = camera.segment(start, start + 10, segment_10s)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"created": True, "segment": {
        "channel": 0, "start_time": start, "end_time": start + 10, "size": len(segment_10s),
        "duration_ms": 10000, "retention_days": 30}}


def test_the_same_segment_again_changes_nothing(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    first = camera.segment(start, start + 10, segment_10s)
    again = camera.segment(start, start + 10, segment_10s)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["segment"] == first.json()["segment"]


def test_other_bytes_for_a_stored_segment_conflict(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    assert camera.segment(start, start + 10, segment_10s).status_code == 201
    _error(camera.segment(start, start + 10, media.ts_segment(10, color=90)), 409, "conflict")


def test_an_overlapping_segment_conflicts(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    assert camera.segment(start, start + 10, segment_10s).status_code == 201
    _error(camera.segment(start + 5, start + 15, segment_10s), 409, "conflict")


def test_a_segment_without_a_package_is_refused(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud)
    start = int(time.time())
    message = _error(camera.segment(start, start + 10, segment_10s), 403, "no_package")
    assert "No cloud-storage package" in message


def test_a_continuous_segment_with_an_event_package_is_refused(sdk_client, localcloud,
                                                               segment_10s):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    start = int(time.time())
    message = _error(camera.segment(start, start + 10, segment_10s), 403, "no_package")
    assert "full-time" in message


def test_a_backlog_recorded_before_the_package_started_is_kept(sdk_client, localcloud,
                                                               segment_10s):
    # The cloud judges an upload by the package in force when it arrives: a camera that was
    # offline uploads its backlog afterwards.
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time()) - 2 * 86400
    answer = camera.segment(start, start + 10, segment_10s)
    assert answer.status_code == 201, answer.text
    assert answer.json()["segment"]["retention_days"] == 7


def test_a_recording_older_than_the_retention_is_refused(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time()) - 8 * 86400
    _error(camera.segment(start, start + 10, segment_10s), 422, "outside_retention")


def test_a_segment_inside_an_event_needs_any_package(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="ye1m3d")
    start = int(time.time())
    assert camera.open_event("motion", start).status_code == 201
    answer = camera.segment(start, start + 10, segment_10s, event=("motion", start))
    assert answer.status_code == 201, answer.text
    assert answer.json()["segment"]["retention_days"] == 3


def test_a_segment_of_an_unknown_event_is_refused(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="ye1m3d")
    start = int(time.time())
    _error(camera.segment(start, start + 10, segment_10s, event=("motion", start)),
           404, "unknown_event")


def test_a_segment_that_does_not_decode_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    _error(camera.segment(start, start + 10, b"\x47" + b"\x00" * 5000), 422, "not_decodable")
    _error(camera.segment(start, start + 5, media.aac(5)), 422, "not_decodable")


def test_a_segment_whose_duration_does_not_match_its_times_is_refused(sdk_client, localcloud,
                                                                      segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    message = _error(camera.segment(start, start + 20, segment_10s), 422, "duration_mismatch")
    assert "10.0 s" in message


def test_a_segment_longer_than_a_minute_is_refused(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time()) - 100
    _error(camera.segment(start, start + 61, segment_10s), 422, "too_long")


@pytest.mark.parametrize("params", [
    {"start_time": "x", "end_time": "10"},
    {"end_time": "10"},
    {"start_time": "20", "end_time": "10"},
])
def test_segment_parameters_are_checked(sdk_client, localcloud, segment_10s, params):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    answer = camera.request("PUT", "/segments", params=params, body=segment_10s)
    _error(answer, 400, "bad_request")


def test_a_segment_from_the_future_is_refused(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time()) + 3600
    _error(camera.segment(start, start + 10, segment_10s), 400, "bad_request")


def test_a_picture_stream_product_cannot_upload_segments(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    start = int(time.time())
    _error(camera.segment(start, start + 10, segment_10s), 403, "wrong_product_kind")


def test_an_nvr_uploads_per_channel(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, nvr=True, package="yc1m7d", channel=2)
    start = int(time.time())
    _error(camera.segment(start, start + 10, segment_10s, channel=1), 403, "no_package")
    assert camera.segment(start, start + 10, segment_10s, channel=2).status_code == 201


def test_a_body_over_the_limit_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    _error(camera.segment(start, start + 10, b"\0" * (16 * 1024 * 1024 + 1)), 413, "too_large")


# --- events -------------------------------------------------------------------------------
def test_an_event_opens_gets_a_thumbnail_and_closes(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    start = int(time.time())
    opened = camera.open_event("motion", start, data='{"zone": 1}')
    assert opened.status_code == 201, opened.text
    assert opened.json()["event"]["upload_status"] == "Partial"
    assert camera.open_event("motion", start).status_code == 200  # a repeat changes nothing
    thumb = camera.thumbnail("motion", start, media.jpeg())
    assert thumb.status_code == 200, thumb.text
    assert thumb.json()["event"]["thumbnail"].endswith(".jpg")
    closed = camera.close_event("motion", start, start + 8)
    assert closed.status_code == 200, closed.text
    assert closed.json()["event"] | {"thumbnail": ""} == {
        "channel": 0, "event_id": "motion", "start_time": start, "end_time": start + 8,
        "thumbnail": "", "upload_status": "Finished", "data": '{"zone": 1}'}


def test_an_event_without_a_package_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    _error(camera.open_event("motion", int(time.time())), 403, "no_package")


def test_closing_an_unknown_event_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    start = int(time.time())
    _error(camera.close_event("motion", start, start + 5), 404, "unknown_event")


def test_event_fields_are_checked(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    start = int(time.time())
    _error(camera.open_event("bad id!", start), 400, "bad_request")
    _error(camera.open_event("motion", start, data="x" * 2000), 400, "bad_request")
    assert camera.open_event("motion", start).status_code == 201
    _error(camera.close_event("motion", start, start + 5, status="Done"), 400, "bad_request")
    _error(camera.close_event("motion", start, start - 5), 400, "bad_request")
    bad_json = camera.request("POST", "/events/open", body=b"[1,", content_type="application/json")
    _error(bad_json, 400, "bad_request")


def test_a_thumbnail_that_is_not_a_jpeg_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    start = int(time.time())
    camera.open_event("motion", start)
    _error(camera.thumbnail("motion", start, b"GIF89a not a jpeg"), 422, "not_decodable")


# --- picture-stream events ----------------------------------------------------------------
def test_a_picture_stream_event_is_stored_once(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    start = int(time.time())
    video, audio = media.mjpeg(5, fps=5), media.aac(5)
    first = camera.picture_event("ring", start, start + 5, video=video, audio=audio, data="door")
    assert first.status_code == 201, first.text
    event = first.json()["event"]
    assert (event["upload_status"], event["end_time"], event["data"]) == ("Finished", start + 5,
                                                                          "door")
    assert event["thumbnail"]
    again = camera.picture_event("ring", start, start + 5, video=video, audio=audio, data="door")
    assert (again.status_code, again.json()["created"]) == (200, False)
    other = camera.picture_event("ring", start, start + 5, video=media.mjpeg(5, color=80),
                                 audio=audio)
    _error(other, 409, "conflict")


def test_a_picture_stream_event_over_ten_seconds_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    start = int(time.time())
    _error(camera.picture_event("ring", start, start + 12, video=media.mjpeg(12),
                                audio=media.aac(12)), 422, "too_long")
    # The times may claim 10 s while the video holds more.
    _error(camera.picture_event("ring", start, start + 10, video=media.mjpeg(12),
                                audio=media.aac(10)), 422, "too_long")


def test_a_picture_stream_event_from_a_video_product_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    start = int(time.time())
    _error(camera.picture_event("ring", start, start + 2, video=media.mjpeg(2),
                                audio=media.aac(2)), 403, "wrong_product_kind")


def test_a_picture_stream_event_that_does_not_decode_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    start = int(time.time())
    _error(camera.picture_event("ring", start, start + 2, video=media.mjpeg(2),
                                audio=b"not aac at all" * 20), 422, "not_decodable")
    _error(camera.picture_event("ring", start, start + 2, video=b"\xff\xd8 broken",
                                audio=media.aac(2)), 422, "not_decodable")


def test_a_picture_stream_event_without_a_package_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, picture=True)
    start = int(time.time())
    _error(camera.picture_event("ring", start, start + 2, video=media.mjpeg(2),
                                audio=media.aac(2)), 403, "no_package")


def test_a_picture_stream_event_needs_both_parts(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    start = int(time.time())
    _error(camera.picture_event("ring", start, start + 2, video=media.mjpeg(2), audio=b""),
           400, "bad_request")


def test_buying_later_lets_the_next_segment_in(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud)
    start = int(time.time())
    _error(camera.segment(start, start + 10, segment_10s), 403, "no_package")
    buy(sdk_client, camera, "yc1m7d")
    later = int(time.time())
    assert camera.segment(later, later + 10, segment_10s).status_code == 201


def test_deleting_a_device_deletes_its_media(sdk_client, localcloud, segment_10s):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time()) - 3607
    event_id = f"gone{uuid.uuid4().hex[:8]}"
    assert camera.segment(start, start + 10, segment_10s).status_code == 201
    assert camera.open_event(event_id, start + 20).status_code == 201
    assert camera.thumbnail(event_id, start + 20, media.jpeg()).status_code == 200
    mine = [p for p in localcloud.media_root.rglob("*")
            if p.name.startswith(f"{start}-{start + 10}-") or event_id in p.name]
    assert len(mine) == 2, mine
    sdk_call(sdk_client, "DeleteDevice", ProductId=camera.product_id,
             DeviceName=camera.device_name)
    assert not any(p.exists() for p in mine)
