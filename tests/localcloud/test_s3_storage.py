"""localcloud with its media on S3-compatible object storage: a real runlocalcloud configured the
way production is (AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, …), storing through
django-storages into moto's S3 server (an S3-compatible server that runs in the test process;
S3 itself cannot run here). Uploads go through the device API, reads through the official SDK
and the signed media URLs, exactly as on local disk."""
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import m3u8
import pytest
import requests
from django.conf import settings
from moto.server import ThreadedMotoServer

from tests.localcloud import media_factory as media
from tests.localcloud.device_http import provision, sdk_call
from tests.localcloud_server import free_port, sdk_client_for, start_localcloud

BUCKET = "localcloud-media"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on a free port with an empty bucket; a boto3 client to look inside."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    yield client, endpoint
    server.stop()


@pytest.fixture(scope="module")
def cloud(s3):
    """A runlocalcloud whose storage is the bucket (its own database; a media root that must
    stay empty)."""
    _, endpoint = s3
    server = start_localcloud(label="s3", env={
        "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1", "AWS_S3_ADDRESSING_STYLE": "path", **CREDENTIALS,
    })
    yield server, sdk_client_for(server)
    server.stop()


def _keys(client, prefix: str = "") -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for o in listed}


def _ids(camera) -> dict:
    return {"ProductId": camera.product_id, "DeviceName": camera.device_name}


def _day(t: int) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(settings.LOCALCLOUD_TIME_ZONE)).date().isoformat()


def _record(client, server, *, color: int = 0) -> tuple:
    """A video camera with one 4 s segment and an event thumbnail; returns what was sent."""
    camera = provision(client, server, package="yc1m7d")
    t = int(time.time())
    segment, jpeg = media.ts_segment(4, color=color), media.jpeg(color=color)
    assert camera.segment(t, t + 4, segment).status_code == 201
    assert camera.open_event("motion", t).status_code < 300
    assert camera.thumbnail("motion", t, jpeg).status_code < 300
    return camera, t, segment, jpeg


@pytest.fixture(scope="module")
def recorded(s3, cloud):
    """Objects of a video camera, then those of a picture-stream camera."""
    s3_client, _ = s3
    server, client = cloud
    before = set(_keys(s3_client))
    camera, t, segment, jpeg = _record(client, server)
    video_keys = set(_keys(s3_client)) - before
    picture = provision(client, server, picture=True, package="ye1m7d")
    mjpeg, aac = media.mjpeg(2), media.aac(2)
    assert picture.picture_event("ring", t, t + 2, video=mjpeg, audio=aac).status_code == 201
    picture_keys = set(_keys(s3_client)) - before - video_keys
    return {"camera": camera, "t": t, "segment": segment, "jpeg": jpeg, "video_keys": video_keys,
            "picture": picture, "mjpeg": mjpeg, "aac": aac, "picture_keys": picture_keys}


def _segment_url(client, camera, t: int) -> str:
    video_url = sdk_call(client, "DescribeCloudStorageTime", Date=_day(t),
                         **_ids(camera))["Data"]["VideoURL"]
    signed = sdk_call(client, "GenerateSignedVideoURL",
                      VideoURL=f"{video_url}?starttime_epoch={t}&endtime_epoch={t + 4}",
                      ExpireTime=int(time.time()) + 600)["SignedVideoURL"]
    answer = requests.get(signed, timeout=10)
    assert answer.status_code == 200, answer.text
    playlist = m3u8.loads(answer.text, uri=signed)
    assert [s.duration for s in playlist.segments] == [4]
    return playlist.segments[0].absolute_uri


def test_uploads_are_objects_in_the_bucket_and_nothing_is_on_disk(s3, cloud, recorded):
    s3_client, _ = s3
    server, _ = cloud
    stored = _keys(s3_client)
    video = {k: stored[k] for k in recorded["video_keys"]}
    assert sorted(k.rsplit(".", 1)[1] for k in video) == ["jpg", "ts"]
    assert all(k.startswith("localcloud/") for k in stored)
    assert sorted(video.values()) == sorted([recorded["segment"], recorded["jpeg"]])
    picture = {k: stored[k] for k in recorded["picture_keys"]}
    assert {recorded["mjpeg"], recorded["aac"]} <= set(picture.values())
    assert [p for p in server.media_root.parent.rglob("*") if p.is_file()] == []


def test_the_days_playlist_serves_the_segment_from_the_bucket(cloud, recorded):
    _, client = cloud
    url = _segment_url(client, recorded["camera"], recorded["t"])
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "video/mp2t")
    assert answer.headers["Content-Length"] == str(len(recorded["segment"]))
    assert answer.content == recorded["segment"]


def test_range_requests_read_those_bytes_of_the_object(cloud, recorded):
    _, client = cloud
    url = _segment_url(client, recorded["camera"], recorded["t"])
    body, size = recorded["segment"], len(recorded["segment"])
    middle = requests.get(url, headers={"Range": "bytes=1000-1187"}, timeout=10)
    assert middle.status_code == 206
    assert middle.headers["Content-Range"] == f"bytes 1000-1187/{size}"
    assert middle.content == body[1000:1188]
    tail = requests.get(url, headers={"Range": "bytes=-500"}, timeout=10)
    assert (tail.status_code, tail.content) == (206, body[-500:])
    rest = requests.get(url, headers={"Range": f"bytes={size - 300}-"}, timeout=10)
    assert (rest.status_code, rest.content) == (206, body[-300:])


def test_thumbnail_and_picture_stream_are_served_from_the_bucket(cloud, recorded):
    _, client = cloud
    camera, picture, t = recorded["camera"], recorded["picture"], recorded["t"]
    thumb = sdk_call(client, "DescribeCloudStorageThumbnail", Thumbnail=f"motion-{t}-0.jpg",
                     **_ids(camera))["ThumbnailURL"]
    answer = requests.get(thumb, timeout=10)
    assert (answer.status_code, answer.content) == (200, recorded["jpeg"])
    stream = sdk_call(client, "DescribeCloudStorageStreamData", StartTime=t, **_ids(picture))
    assert requests.get(stream["VideoStream"], timeout=10).content == recorded["mjpeg"]
    assert requests.get(stream["AudioStream"], timeout=10).content == recorded["aac"]


def test_an_object_gone_from_the_bucket_is_answered_404(s3, cloud):
    s3_client, _ = s3
    server, client = cloud
    before = set(_keys(s3_client))
    camera, t, *_ = _record(client, server, color=2)
    thumbnail_key = next(k for k in set(_keys(s3_client)) - before if k.endswith(".jpg"))
    s3_client.delete_object(Bucket=BUCKET, Key=thumbnail_key)
    url = sdk_call(client, "DescribeCloudStorageThumbnail", Thumbnail=f"motion-{t}-0.jpg",
                   **_ids(camera))["ThumbnailURL"]
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")


def test_delete_device_removes_its_objects_and_only_its_objects(s3, cloud, recorded):
    s3_client, _ = s3
    server, client = cloud
    before = set(_keys(s3_client))
    camera, *_ = _record(client, server, color=1)
    own = set(_keys(s3_client)) - before
    assert len(own) == 2
    sdk_call(client, "DeleteDevice", **_ids(camera))
    assert set(_keys(s3_client)) == before
    assert recorded["video_keys"] | recorded["picture_keys"] <= before
