"""The recording index through the official SDK against a live runlocalcloud: days, the day's
timeline (spans), events paged with a cursor, thumbnails, stream data, deleting events."""
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.localcloud import media_factory as media
from tests.localcloud.device_http import provision, sdk_call

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def seg():
    return {n: media.ts_segment(n) for n in (2, 4)}


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, SHANGHAI).date().isoformat()


def _sdk_error(client, action, **params) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(client, action, **params)
    return exc.value


def _ids(camera) -> dict:
    return {"ProductId": camera.product_id, "DeviceName": camera.device_name}


@pytest.fixture(scope="module")
def recorded(sdk_client, localcloud, seg):
    """A camera with segments [t, t+6) (three 2 s segments, the middle one uploaded last, so
    it merges with both neighbours), a gap, then [t+10, t+14)."""
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    t = int(time.time())
    for start, length in [(t, 2), (t + 4, 2), (t + 10, 4), (t + 2, 2)]:
        answer = camera.segment(start, start + length, seg[length])
        assert answer.status_code == 201, answer.text
    return camera, t


def test_days_with_recordings_are_listed(sdk_client, recorded):
    camera, t = recorded
    answer = sdk_call(sdk_client, "DescribeCloudStorageDate", **_ids(camera))
    assert answer["Data"] == sorted({_day(t), _day(t + 14)})


def test_contiguous_segments_merge_into_one_span_and_gaps_split(sdk_client, recorded):
    camera, t = recorded
    answer = sdk_call(sdk_client, "DescribeCloudStorageTime", Date=_day(t), **_ids(camera))
    spans = [(s["StartTime"], s["EndTime"]) for s in answer["Data"]["TimeList"]]
    if _day(t) == _day(t + 14):
        assert spans == [(t, t + 6), (t + 10, t + 14)]
    assert answer["Data"]["VideoURL"].endswith(
        f"/media/v1/{camera.product_id}/{camera.device_name}/0/video.m3u8")


def test_the_timeline_is_clipped_to_start_and_end_time(sdk_client, recorded):
    camera, t = recorded
    answer = sdk_call(sdk_client, "DescribeCloudStorageTime", Date=_day(t + 3),
                      StartTime=t + 3, EndTime=t + 12, **_ids(camera))
    spans = [(s["StartTime"], s["EndTime"]) for s in answer["Data"]["TimeList"]]
    if _day(t) == _day(t + 14):
        assert spans == [(t + 3, t + 6), (t + 10, t + 12)]


def test_a_day_without_recordings_has_an_empty_timeline(sdk_client, recorded):
    camera, _ = recorded
    answer = sdk_call(sdk_client, "DescribeCloudStorageTime", Date="2020-01-05", **_ids(camera))
    assert answer["Data"]["TimeList"] == []


@pytest.mark.parametrize("date", ["2021-02-30", "2021-13-01", "yesterday", "2021-1-5"])
def test_an_impossible_date_is_refused(sdk_client, recorded, date):
    camera, _ = recorded
    error = _sdk_error(sdk_client, "DescribeCloudStorageTime", Date=date, **_ids(camera))
    assert error.code == "InvalidParameterValue"
    assert "Date" in error.message


def test_start_after_end_is_refused(sdk_client, recorded):
    camera, t = recorded
    error = _sdk_error(sdk_client, "DescribeCloudStorageTime", Date=_day(t), StartTime=t + 10,
                       EndTime=t, **_ids(camera))
    assert error.code == "InvalidParameterValue"
    error = _sdk_error(sdk_client, "DescribeCloudStorageEvents", StartTime=t + 10, EndTime=t,
                       **_ids(camera))
    assert error.code == "InvalidParameterValue"


def test_an_unknown_device_is_not_found(sdk_client, recorded):
    camera, t = recorded
    for action, extra in [("DescribeCloudStorageDate", {}),
                          ("DescribeCloudStorageTime", {"Date": _day(t)}),
                          ("DescribeCloudStorageEvents", {}),
                          ("DescribeCloudStorageThumbnail", {"Thumbnail": "x.jpg"})]:
        error = _sdk_error(sdk_client, action, ProductId=camera.product_id,
                           DeviceName="ghost", **extra)
        assert error.code == "ResourceNotFound", action


def test_a_channel_on_a_camera_that_is_not_an_nvr_is_refused(sdk_client, recorded):
    camera, _ = recorded
    error = _sdk_error(sdk_client, "DescribeCloudStorageDate", ChannelId=3, **_ids(camera))
    assert error.code == "InvalidParameterValue"


def test_a_missing_device_is_reported_before_a_wrong_parameter(sdk_client, recorded):
    camera, t = recorded
    error = _sdk_error(sdk_client, "DescribeCloudStorageTime", ProductId=camera.product_id,
                       DeviceName="ghost", Date="2026-13-40")
    assert error.code == "ResourceNotFound"
    error = _sdk_error(sdk_client, "DescribeCloudStorageTime", Date=_day(t), ChannelId=3,
                       **_ids(camera))
    assert error.code == "InvalidParameterValue"


# --- events -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def events_camera(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    t = int(time.time())
    for n in range(23):
        event_id = "motion" if n % 2 else "sound"
        assert camera.open_event(event_id, t + n, data=f"n={n}").status_code == 201
        camera.close_event(event_id, t + n, t + n + 1)
    camera.thumbnail("motion", t + 1, media.jpeg())
    camera.thumbnail("sound", t + 2, media.jpeg(color=120))
    return camera, t


def test_events_page_newest_first_with_a_cursor(sdk_client, events_camera):
    camera, t = events_camera
    seen, context, pages = [], "", 0
    while True:
        answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", Size=10, Context=context,
                          StartTime=t, EndTime=t + 60, **_ids(camera))
        pages += 1
        assert answer["Total"] == 23
        seen += [e["StartTime"] for e in answer["Events"]]
        if answer["Listover"]:
            assert answer["Context"] == ""
            break
        assert len(answer["Events"]) == 10
        context = answer["Context"]
    assert pages == 3
    assert seen == [t + n for n in reversed(range(23))]
    assert answer["VideoURL"].endswith("/video.m3u8")


def test_event_fields_are_the_sdks(sdk_client, events_camera):
    camera, t = events_camera
    answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", Size=1, StartTime=t,
                      EndTime=t + 1, EventId="motion", **_ids(camera))
    assert answer["Events"] == [{"StartTime": t + 1, "EndTime": t + 2,
                                 "Thumbnail": f"motion-{t + 1}-0.jpg", "EventId": "motion",
                                 "UploadStatus": "Finished", "Data": "n=1"}]


def test_events_filter_by_event_id(sdk_client, events_camera):
    camera, t = events_camera
    answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", Size=100, StartTime=t,
                      EndTime=t + 60, EventId="sound", **_ids(camera))
    assert {e["EventId"] for e in answer["Events"]} == {"sound"}
    assert answer["Total"] == 12


def test_events_default_to_the_last_24_hours(sdk_client, events_camera):
    camera, t = events_camera
    answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", **_ids(camera))
    # EndTime 0 = now: the events that started by now, 10 by default.
    assert 1 <= len(answer["Events"]) <= 10
    assert all(e["StartTime"] <= time.time() for e in answer["Events"])


def test_a_page_past_the_last_event_is_empty_and_still_counts(sdk_client, events_camera):
    from localcloud.api.recordings import _cursor

    camera, t = events_camera
    answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", Size=10, Context=_cursor(t, 0),
                      StartTime=t, EndTime=t + 60, **_ids(camera))
    assert (answer["Events"], answer["Listover"], answer["Total"]) == ([], True, 23)
    answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", StartTime=t, EndTime=t + 60,
                      EventId="nothing", **_ids(camera))
    assert (answer["Events"], answer["Total"]) == ([], 0)


def test_oversized_pages_and_forged_cursors_are_refused(sdk_client, events_camera):
    camera, _ = events_camera
    assert _sdk_error(sdk_client, "DescribeCloudStorageEvents", Size=101,
                      **_ids(camera)).code == "InvalidParameterValue"
    assert _sdk_error(sdk_client, "DescribeCloudStorageEvents", Context="not-a-cursor",
                      **_ids(camera)).code == "InvalidParameterValue"


def test_thumbnails_are_signed_urls_that_serve_the_jpeg(sdk_client, events_camera):
    import requests

    camera, t = events_camera
    one = sdk_call(sdk_client, "DescribeCloudStorageThumbnail", Thumbnail=f"motion-{t + 1}-0.jpg",
                   **_ids(camera))
    assert one["ExpireTime"] > time.time() + 600
    picture = requests.get(one["ThumbnailURL"], timeout=10)
    assert (picture.status_code, picture.headers["Content-Type"]) == (200, "image/jpeg")
    assert picture.content == media.jpeg()
    listed = sdk_call(sdk_client, "DescribeCloudStorageThumbnailList",
                      ThumbnailList=[f"sound-{t + 2}-0.jpg", f"motion-{t + 1}-0.jpg"],
                      **_ids(camera))["ThumbnailURLInfoList"]
    assert len(listed) == 2
    assert requests.get(listed[0]["ThumbnailURL"], timeout=10).content == media.jpeg(color=120)


def test_an_unknown_thumbnail_is_not_found(sdk_client, events_camera):
    camera, _ = events_camera
    assert _sdk_error(sdk_client, "DescribeCloudStorageThumbnail", Thumbnail="nope.jpg",
                      **_ids(camera)).code == "ResourceNotFound"
    assert _sdk_error(sdk_client, "DescribeCloudStorageThumbnailList", ThumbnailList=["nope.jpg"],
                      **_ids(camera)).code == "ResourceNotFound"


def test_deleting_an_event_removes_it_and_its_segments(sdk_client, localcloud, seg):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    t = int(time.time())
    camera.open_event("motion", t)
    assert camera.segment(t, t + 4, seg[4], event=("motion", t)).status_code == 201
    camera.close_event("motion", t, t + 4)
    camera.open_event("other", t + 20)
    sdk_call(sdk_client, "DeleteCloudStorageEvent", EventId="motion", StartTime=t, EndTime=t + 4,
             **_ids(camera))
    events = sdk_call(sdk_client, "DescribeCloudStorageEvents", StartTime=t, EndTime=t + 60,
                      **_ids(camera))["Events"]
    assert [e["EventId"] for e in events] == ["other"]
    timeline = sdk_call(sdk_client, "DescribeCloudStorageTime", Date=_day(t), **_ids(camera))
    assert timeline["Data"]["TimeList"] == []
    error = _sdk_error(sdk_client, "DeleteCloudStorageEvent", EventId="motion", StartTime=t,
                       EndTime=t + 4, **_ids(camera))
    assert error.code == "ResourceNotFound"


def test_reset_removes_every_event_and_their_days(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="ye1m7d")
    t = int(time.time())
    camera.open_event("motion", t)
    camera.open_event("motion", t + 1)
    assert sdk_call(sdk_client, "DescribeCloudStorageDate", **_ids(camera))["Data"]
    sdk_call(sdk_client, "ResetCloudStorageEvent", **_ids(camera))
    answer = sdk_call(sdk_client, "DescribeCloudStorageEvents", StartTime=t, EndTime=t + 60,
                      **_ids(camera))
    assert (answer["Events"], answer["Total"], answer["Listover"]) == ([], 0, True)
    assert sdk_call(sdk_client, "DescribeCloudStorageDate", **_ids(camera))["Data"] == []


def test_picture_stream_data_is_signed_mjpeg_and_aac(sdk_client, localcloud):
    import av
    import requests

    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    t = int(time.time())
    video, audio = media.mjpeg(4, fps=5), media.aac(4)
    assert camera.picture_event("ring", t, t + 4, video=video, audio=audio).status_code == 201
    assert sdk_call(sdk_client, "DescribeCloudStorageDate", **_ids(camera))["Data"] == [_day(t)]
    event = sdk_call(sdk_client, "DescribeCloudStorageEvents", StartTime=t, EndTime=t + 10,
                     **_ids(camera))["Events"][0]
    thumb = sdk_call(sdk_client, "DescribeCloudStorageThumbnail", Thumbnail=event["Thumbnail"],
                     **_ids(camera))
    assert requests.get(thumb["ThumbnailURL"], timeout=10).content[:2] == b"\xff\xd8"
    stream = sdk_call(sdk_client, "DescribeCloudStorageStreamData", StartTime=t, **_ids(camera))
    mjpeg = requests.get(stream["VideoStream"], timeout=10)
    assert (mjpeg.content, mjpeg.headers["X-Frame-Rate"]) == (video, "5")
    aac = requests.get(stream["AudioStream"], timeout=10)
    assert aac.content == audio
    import io

    with av.open(io.BytesIO(aac.content), format="aac") as container:
        assert sum(f.samples for p in container.demux() for f in p.decode()) >= 4 * 16000


def test_stream_data_errors(sdk_client, localcloud, recorded):
    video_camera, t = recorded
    assert _sdk_error(sdk_client, "DescribeCloudStorageStreamData", StartTime=t,
                      **_ids(video_camera)).code == "UnsupportedOperation"
    camera = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    assert _sdk_error(sdk_client, "DescribeCloudStorageStreamData", StartTime=t,
                      **_ids(camera)).code == "ResourceNotFound"
