"""Signed media from a live runlocalcloud: HLS playlists (parsed with m3u8, segments decoded
with PyAV), gzip, byte ranges, CORS, and tamper/expiry/key rotation of every kind of URL."""
import io
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import av
import m3u8
import pytest
import requests

from localcloud import signing
from tests.localcloud import media_factory as media
from tests.localcloud.device_http import provision, sdk_call


def _ids(camera) -> dict:
    return {"ProductId": camera.product_id, "DeviceName": camera.device_name}


@pytest.fixture(scope="module")
def recorded(sdk_client, localcloud):
    """Segments [t, t+6) in three, a gap, [t+10, t+14); an event with a thumbnail; and a
    picture-stream camera with one event."""
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    picture = provision(sdk_client, localcloud, picture=True, package="ye1m7d")
    t = int(time.time())
    two, four = media.ts_segment(2), media.ts_segment(4)
    for start, body, length in [(t, two, 2), (t + 2, two, 2), (t + 4, two, 2), (t + 10, four, 4)]:
        assert camera.segment(start, start + length, body).status_code == 201
    camera.open_event("motion", t)
    camera.thumbnail("motion", t, media.jpeg())
    assert picture.picture_event("ring", t, t + 2, video=media.mjpeg(2),
                                 audio=media.aac(2)).status_code == 201
    return camera, picture, t


def _video_url(sdk_client, camera, t) -> str:
    return sdk_call(sdk_client, "DescribeCloudStorageTime", Date=datetime.fromtimestamp(
        t, signing_zone()).date().isoformat(), **_ids(camera))["Data"]["VideoURL"]


def signing_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def _signed_playlist(sdk_client, camera, t, *, start=None, end=None, expires_in=600) -> str:
    url = f"{_video_url(sdk_client, camera, t)}?starttime_epoch={start or t}" \
          f"&endtime_epoch={end or t + 20}"
    return sdk_call(sdk_client, "GenerateSignedVideoURL", VideoURL=url,
                    ExpireTime=int(time.time()) + expires_in)["SignedVideoURL"]


def _media_urls(sdk_client, camera, picture, t) -> dict[str, str]:
    playlist_url = _signed_playlist(sdk_client, camera, t)
    playlist = _playlist(playlist_url)
    thumb = sdk_call(sdk_client, "DescribeCloudStorageThumbnail", Thumbnail=f"motion-{t}-0.jpg",
                     **_ids(camera))["ThumbnailURL"]
    stream = sdk_call(sdk_client, "DescribeCloudStorageStreamData", StartTime=t, **_ids(picture))
    return {"playlist": playlist_url, "segment": playlist.segments[0].absolute_uri,
            "thumbnail": thumb,
            "mjpeg": stream["VideoStream"], "aac": stream["AudioStream"]}


# --- playlists ----------------------------------------------------------------------------
def test_the_playlist_is_a_vod_list_with_gaps_marked(sdk_client, recorded):
    camera, _, t = recorded
    answer = requests.get(_signed_playlist(sdk_client, camera, t), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    playlist = m3u8.loads(answer.text)
    assert playlist.playlist_type == "vod"
    assert playlist.is_endlist
    assert playlist.target_duration == 4
    assert [s.duration for s in playlist.segments] == [2, 2, 2, 4]
    assert [s.discontinuity for s in playlist.segments] == [False, False, False, True]
    assert playlist.segments[0].program_date_time == datetime.fromtimestamp(t, UTC)
    assert playlist.segments[3].program_date_time == datetime.fromtimestamp(t + 10, UTC)


def test_every_segment_of_the_playlist_plays(sdk_client, recorded):
    camera, _, t = recorded
    playlist = _playlist(_signed_playlist(sdk_client, camera, t))
    for segment in playlist.segments:
        answer = requests.get(segment.absolute_uri, timeout=10)
        assert (answer.status_code, answer.headers["Content-Type"]) == (200, "video/mp2t")
        with av.open(io.BytesIO(answer.content), format="mpegts") as container:
            frames = sum(1 for p in container.demux(video=0) for _ in p.decode())
        assert frames == int(segment.duration * 5)


def test_the_playlist_covers_only_the_asked_range(sdk_client, recorded):
    camera, _, t = recorded
    url = _signed_playlist(sdk_client, camera, t, start=t + 3, end=t + 5)
    playlist = m3u8.loads(requests.get(url, timeout=10).text)
    assert len(playlist.segments) == 2
    empty = _signed_playlist(sdk_client, camera, t, start=t + 7, end=t + 9)
    assert requests.get(empty, timeout=10).status_code == 404


def test_the_playlist_is_gzipped_when_the_client_accepts_it(sdk_client, recorded):
    camera, _, t = recorded
    url = _signed_playlist(sdk_client, camera, t)
    zipped = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert m3u8.loads(zipped.text).is_endlist  # requests inflates it
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers
    assert plain.text == zipped.text


# --- GenerateSignedVideoURL -----------------------------------------------------------------
def test_generate_signed_video_url_refuses_what_it_cannot_sign(sdk_client, recorded):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )

    camera, _, t = recorded
    base = _video_url(sdk_client, camera, t)
    now = int(time.time())
    cases = [
        (f"https://elsewhere.example/x.m3u8?starttime_epoch={t}&endtime_epoch={t}", now + 60),
        (base, now + 60),
        (f"{base}?starttime_epoch={t + 9}&endtime_epoch={t}", now + 60),
        (f"{base}?starttime_epoch={t}&endtime_epoch={t + 9}", now - 1),
        (base.replace(camera.device_name, "ghost") + f"?starttime_epoch={t}&endtime_epoch={t}",
         now + 60),
    ]
    codes = []
    for url, expire in cases:
        with pytest.raises(TencentCloudSDKException) as exc:
            sdk_call(sdk_client, "GenerateSignedVideoURL", VideoURL=url, ExpireTime=expire)
        codes.append(exc.value.code)
    assert codes == ["InvalidParameterValue"] * 4 + ["ResourceNotFound"]


# --- tampering and expiry -----------------------------------------------------------------
def _playlist(url: str) -> m3u8.M3U8:
    # absolute_uri resolves a segment URI as a player does, were it relative.
    return m3u8.loads(requests.get(url, timeout=10).text, uri=url)


def _with_query(url: str, change) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit(parts._replace(query=urlencode(change(pairs))))


def _flip(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


TAMPERINGS = {
    "unsigned": lambda url: url.split("?")[0],
    "signature altered": lambda url: _with_query(
        url, lambda q: [(k, _flip(v) if k == "sig" else v) for k, v in q]),
    "expiry extended": lambda url: _with_query(
        url, lambda q: [(k, str(int(v) + 3600) if k == "expires" else v) for k, v in q]),
    "unknown key id": lambda url: _with_query(
        url, lambda q: [(k, "k9" if k == "kid" else v) for k, v in q]),
    "parameter appended": lambda url: url + "&starttime_epoch=1",
    "signature dropped": lambda url: _with_query(url, lambda q: [p for p in q if p[0] != "sig"]),
    "path altered": lambda url: url.replace("/media/v1/", "/media/v1//", 1),
}


@pytest.mark.parametrize("kind", ["playlist", "segment", "thumbnail", "mjpeg", "aac"])
def test_every_kind_of_media_url_refuses_tampering(sdk_client, recorded, kind):
    camera, picture, t = recorded
    url = _media_urls(sdk_client, camera, picture, t)[kind]
    assert requests.get(url, timeout=10).status_code == 200
    for name, tamper in TAMPERINGS.items():
        answer = requests.get(tamper(url), timeout=10)
        assert answer.status_code in (403, 404), name
        if answer.status_code == 403:
            assert answer.json()["error"]["code"] == "forbidden"
        else:  # a mangled path no longer names a media URL at all
            assert name == "path altered"


def test_altering_the_playlist_range_breaks_its_signature(sdk_client, recorded):
    camera, _, t = recorded
    url = _signed_playlist(sdk_client, camera, t)
    for key in ("starttime_epoch", "endtime_epoch"):
        altered = _with_query(url, lambda q, key=key: [(k, str(int(v) + 1) if k == key else v)
                                                       for k, v in q])
        assert requests.get(altered, timeout=10).status_code == 403, key


def test_a_playlist_of_another_device_cannot_reuse_a_signature(sdk_client, localcloud, recorded):
    camera, _, t = recorded
    other = provision(sdk_client, localcloud)
    url = _signed_playlist(sdk_client, camera, t).replace(camera.product_id, other.product_id)
    assert requests.get(url, timeout=10).status_code == 403


def test_segments_lie_beside_the_playlist_and_share_one_window_signature(sdk_client, recorded):
    camera, _, t = recorded
    url = _signed_playlist(sdk_client, camera, t)
    playlist = _playlist(url)
    queries = {urlsplit(s.uri).query for s in playlist.segments}
    directory = url.split("?")[0].removesuffix("video.m3u8")
    assert all(s.uri.startswith(directory) and s.uri.endswith(".ts?" + urlsplit(s.uri).query)
               for s in playlist.segments)
    assert len(queries) == 1
    assert [k for k, _ in parse_qsl(queries.pop())] == ["s", "e", "kid", "expires", "sig"]


def _segment_pk(url: str) -> str:
    return urlsplit(url).path.rpartition("/")[2].removesuffix(".ts")


def _with_pk(url: str, pk: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rpartition("/")[0] + f"/{pk}.ts"))


def test_a_window_signature_serves_only_the_segments_of_its_window(sdk_client, localcloud,
                                                                   recorded):
    camera, _, t = recorded
    narrow = _playlist(_signed_playlist(sdk_client, camera, t, start=t + 3, end=t + 5))
    inside = [s.absolute_uri for s in narrow.segments]
    assert len(inside) == 2 and all(requests.get(u, timeout=10).status_code == 200
                                    for u in inside)
    # The segment at t + 10 is the device's own, but not in [t + 3, t + 5).
    later = _playlist(_signed_playlist(sdk_client, camera, t)).segments[-1].absolute_uri
    answer = requests.get(_with_pk(inside[0], _segment_pk(later)), timeout=10)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
    # Nor does it open another device's segment of the same time.
    other = provision(sdk_client, localcloud, package="yc1m7d")
    assert other.segment(t + 4, t + 6, media.ts_segment(2)).status_code == 201
    foreign = _playlist(_signed_playlist(sdk_client, other, t, start=t + 3, end=t + 5))
    answer = requests.get(_with_pk(inside[0], _segment_pk(foreign.segments[0].absolute_uri)),
                          timeout=10)
    assert answer.status_code == 403
    for key in ("s", "e"):
        widened = _with_query(inside[0], lambda q, key=key: [
            (k, str(int(v) + (5 if key == "e" else -5)) if k == key else v) for k, v in q])
        assert requests.get(widened, timeout=10).status_code == 403, key


def test_a_new_segment_shows_in_the_next_signed_playlist_of_the_same_range(sdk_client,
                                                                          localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    t = int(time.time()) - 60
    assert camera.segment(t, t + 2, media.ts_segment(2)).status_code == 201
    assert len(_playlist(_signed_playlist(sdk_client, camera, t)).segments) == 1
    assert camera.segment(t + 2, t + 4, media.ts_segment(2)).status_code == 201
    # Another expiry: a new signed address of the same window.
    again = _playlist(_signed_playlist(sdk_client, camera, t, expires_in=900))
    assert [s.duration for s in again.segments] == [2, 2]
    assert all(requests.get(s.absolute_uri, timeout=10).status_code == 200
               for s in again.segments)


def test_segment_urls_signed_one_by_one_still_play(sdk_client, recorded):
    """The form playlists had before the window signature (URLs already handed out)."""
    camera, _, t = recorded
    url = _playlist(_signed_playlist(sdk_client, camera, t)).segments[0].absolute_uri
    parts = urlsplit(url)
    signed = signing.Signer(int(time.time()) + 60).sign(f"/media/v1/seg/{_segment_pk(url)}.ts")
    old_form = f"{parts.scheme}://{parts.netloc}{signed}"
    assert requests.get(old_form, timeout=10).content == requests.get(url, timeout=10).content
    assert requests.get(old_form.replace("/seg/", "/seg/1"), timeout=10).status_code == 403


def test_the_spliced_gzip_inflates_to_the_playlist_text():
    import gzip
    import random

    from localcloud.media import gzsplice

    rng = random.Random(7)
    for _ in range(100):
        pk, parts = rng.randint(1, 10**7), []
        for i in range(rng.randint(1, 40)):
            pk += rng.randint(1, 400)
            gap = "#EXT-X-DISCONTINUITY\n" if rng.random() < .2 else ""
            parts.append(f"{'#EXTM3U' if i == 0 else ''}\n{gap}#EXTINF:"
                         f"{rng.choice(['10.000', '9.960', '2.000'])},\n{pk}.ts?".encode())
        q_length = rng.randint(3, 700)
        block = gzsplice.tail_block(parts, q_length, b"\n#EXT-X-ENDLIST\n")
        for _ in range(3):  # one block serves every query string of that length
            q = bytes(rng.choice(b"0123456789abcdef&=") for _ in range(q_length))
            text, zipped = gzsplice.compress(parts, q, b"\n#EXT-X-ENDLIST\n", block)
            assert text == q.join(parts) + q + b"\n#EXT-X-ENDLIST\n"
            assert gzip.decompress(zipped) == text


@pytest.mark.parametrize("kind", ["thumbnail", "segment", "mjpeg", "aac"])
def test_a_correctly_signed_but_expired_url_is_refused(sdk_client, recorded, kind):
    camera, picture, t = recorded
    url = _media_urls(sdk_client, camera, picture, t)[kind]
    parts = urlsplit(url)
    extra = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("kid", "expires", "sig")]
    # A playlist's segments carry the signature of its window, not of their own path.
    resource = signing.segment_resource(parts.path.rpartition("/")[0] + "/") \
        if kind == "segment" else parts.path
    # Signed with the cloud's own key (the demo key both processes share) but already expired.
    for expires, status in [(int(time.time()) - 1, 403), (int(time.time()) + 60, 200)]:
        resigned = parts.path + signing.Signer(expires).sign(resource, urlencode(extra))[
            len(resource):]
        answer = requests.get(f"{parts.scheme}://{parts.netloc}{resigned}", timeout=10)
        assert answer.status_code == status, (expires, answer.text)


def test_a_signed_playlist_and_its_segments_stop_right_after_expire_time(sdk_client, recorded):
    camera, _, t = recorded
    url = _signed_playlist(sdk_client, camera, t, expires_in=2)
    expire_time = int(dict(parse_qsl(urlsplit(url).query))["expires"])
    playlist = _playlist(url)
    segment_url = playlist.segments[0].absolute_uri
    assert dict(parse_qsl(urlsplit(segment_url).query))["expires"] == str(expire_time)
    assert requests.get(segment_url, timeout=10).status_code == 200
    while time.time() < expire_time + 1:
        time.sleep(0.2)
    assert requests.get(url, timeout=10).status_code == 403
    assert requests.get(segment_url, timeout=10).status_code == 403


def test_urls_signed_before_a_key_rotation_keep_working(sdk_client, recorded,
                                                        localcloud_factory):
    camera, picture, t = recorded
    old_url = _signed_playlist(sdk_client, camera, t)
    rotated = localcloud_factory(env={
        "LOCALCLOUD_MEDIA_KEYS": "k2:rotated-secret-for-tests,"
                                 "k1:localcloud-demo-media-signing-key"})
    from tests.localcloud_server import sdk_client_for

    rotated_client = sdk_client_for(rotated)
    old_on_rotated = old_url.replace(urlsplit(old_url).netloc, rotated.endpoint)
    assert requests.get(old_on_rotated, timeout=10).status_code == 200
    new_url = sdk_call(rotated_client, "GenerateSignedVideoURL",
                       VideoURL=old_on_rotated.split("&kid=")[0],
                       ExpireTime=int(time.time()) + 600)["SignedVideoURL"]
    assert "kid=k2" in new_url
    assert requests.get(new_url, timeout=10).status_code == 200
    # The server that never had k2 refuses it.
    new_on_old = new_url.replace(rotated.endpoint, urlsplit(old_url).netloc)
    assert requests.get(new_on_old, timeout=10).status_code == 403


# --- byte ranges and CORS -----------------------------------------------------------------
def test_byte_ranges(sdk_client, recorded):
    camera, picture, t = recorded
    url = _media_urls(sdk_client, camera, picture, t)["segment"]
    whole = requests.get(url, timeout=10)
    size = len(whole.content)
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = requests.get(url, headers={"Range": "bytes=100-299"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-299/{size}"
    assert part.content == whole.content[100:300]
    tail = requests.get(url, headers={"Range": "bytes=-188"}, timeout=10)
    assert (tail.status_code, tail.content) == (206, whole.content[-188:])
    open_ended = requests.get(url, headers={"Range": f"bytes={size - 10}-"}, timeout=10)
    assert open_ended.content == whole.content[-10:]
    outside = requests.get(url, headers={"Range": f"bytes={size + 5}-"}, timeout=10)
    assert (outside.status_code, outside.headers["Content-Range"]) == (416, f"bytes */{size}")
    head = requests.head(url, timeout=10)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, str(size),
                                                                                b"")


def test_cors_for_the_portal_origin_only(sdk_client, recorded):
    camera, picture, t = recorded
    url = _media_urls(sdk_client, camera, picture, t)["playlist"]
    allowed = requests.get(url, headers={"Origin": "http://127.0.0.1:8000"}, timeout=10)
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "Origin" in allowed.headers["Vary"]
    foreign = requests.get(url, headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in foreign.headers
    preflight = requests.options(url, headers={
        "Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range"}, timeout=10)
    assert preflight.status_code == 204
    assert "Range" in preflight.headers["Access-Control-Allow-Headers"]
    refused = requests.get(url.split("?")[0], headers={"Origin": "http://127.0.0.1:8000"},
                           timeout=10)
    # A refusal still carries CORS so the player can read why.
    assert refused.status_code == 403
    assert refused.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
