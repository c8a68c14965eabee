"""simulate_device end to end: the command runs as its own process against a live localcloud,
uploads through the device API, and the recordings are then found through the official SDK
and played from the signed media URLs the cloud hands out."""
import io
import json
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image

from tests.localcloud.device_http import Camera, provision, sdk_call

BASE_DIR = Path(__file__).resolve().parents[2]


def _buy(sdk_client, camera: Camera, package: str) -> int:
    """Buy `package` now; return the Unix time it comes into force."""
    order_id = uuid.uuid4().hex
    sdk_call(sdk_client, "CreateCloudStorage", ProductId=camera.product_id,
             DeviceName=camera.device_name, PackageId=package, OrderId=order_id)
    return sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=order_id)["StartTime"]


@dataclass
class Run:
    camera: Camera
    start: int | None
    process: subprocess.Popen
    stdout: str = ""
    stderr: str = ""

    @property
    def returncode(self) -> int:
        return self.process.returncode


def _launch(localcloud, camera: Camera, *args: str, psk: bool = True,
            start: int | None = None) -> Run:
    """simulate_device as its own process (started, not waited for)."""
    command = [sys.executable, "manage.py", "simulate_device", "--cloud", localcloud.url,
               "--product", camera.product_id, "--device", camera.device_name, *args]
    if psk:
        command += ["--psk", camera.psk]
    if start is not None:
        command += ["--start", str(start)]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=localcloud._env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Run(camera=camera, start=start, process=process)


def _day(epoch: int) -> str:
    zone = ZoneInfo(settings.LOCALCLOUD_TIME_ZONE)
    return datetime.fromtimestamp(epoch, UTC).astimezone(zone).date().isoformat()


def _fetch(url: str) -> bytes:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return response.content


def _frames(data: bytes, kind: str, fmt: str | None = None) -> list:
    with av.open(io.BytesIO(data), format=fmt) as container:
        return list(container.decode(**{kind: 0}))


# Every run of the module starts at once and the tests then look at what each one did: the
# commands are separate processes, and run one after another they would spend most of the time
# starting Python. Packages cannot be bought back-dated and the cloud judges a recording by the
# package in force at the recording's time, so each backfill window starts when its package does.
@pytest.fixture(scope="module")
def runs(sdk_client, localcloud):
    cameras = {
        "fulltime": provision(sdk_client, localcloud),
        "event": provision(sdk_client, localcloud),
        "picture": provision(sdk_client, localcloud, picture=True),
        "no_package": provision(sdk_client, localcloud),
        "live": provision(sdk_client, localcloud),
        "live_stopped": provision(sdk_client, localcloud),
    }
    starts = {name: _buy(sdk_client, cameras[name], package) for name, package in [
        ("fulltime", "yc1m7d"), ("event", "ye1m7d"), ("picture", "ye1m7d"),
        ("live", "yc1m7d"), ("live_stopped", "yc1m7d"),
    ]}
    launched = {
        # Without --psk: the command looks the PSK up through the cloud API.
        "fulltime": _launch(localcloud, cameras["fulltime"], "--mode", "fulltime",
                            "--duration", "60", start=starts["fulltime"], psk=False),
        "event": _launch(localcloud, cameras["event"], "--mode", "event", "--duration", "60",
                         "--event-every", "20", start=starts["event"]),
        "picture": _launch(localcloud, cameras["picture"], "--mode", "picture",
                           "--duration", "60", "--event-every", "15", start=starts["picture"]),
        "no_package": _launch(localcloud, cameras["no_package"], "--mode", "fulltime",
                              "--duration", "10"),
        "live": _launch(localcloud, cameras["live"], "--mode", "fulltime", "--realtime",
                        "--duration", "3", "--size", "320x180"),
        "live_stopped": _launch(localcloud, cameras["live_stopped"], "--mode", "fulltime",
                                "--realtime", "--size", "320x180"),
    }
    try:
        for name, run in launched.items():
            if name != "live_stopped":
                run.stdout, run.stderr = run.process.communicate(timeout=120)
        stopped = launched["live_stopped"]
        # Stop the endless live camera once it is up (its first heartbeat marks it online).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not sdk_call(
                sdk_client, "DescribeDevice", ProductId=stopped.camera.product_id,
                DeviceName=stopped.camera.device_name)["LoginTime"]:
            time.sleep(0.3)
        stopped.process.send_signal(signal.SIGINT)
        stopped.stdout, stopped.stderr = stopped.process.communicate(timeout=30)
    finally:
        for run in launched.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()
    return launched


def test_fulltime_backfill_is_one_minute_of_playable_video(runs, sdk_client):
    run = runs["fulltime"]
    camera, start = run.camera, run.start
    assert run.returncode == 0, run.stderr
    assert "6 segments" in run.stdout

    timeline = sdk_call(sdk_client, "DescribeCloudStorageTime", ProductId=camera.product_id,
                        DeviceName=camera.device_name, Date=_day(start))["Data"]
    assert timeline["TimeList"] == [{"StartTime": start, "EndTime": start + 60}]
    assert _day(start) in sdk_call(sdk_client, "DescribeCloudStorageDate",
                                   ProductId=camera.product_id,
                                   DeviceName=camera.device_name)["Data"]

    # Play it as the portal does: the m3u8 address, signed, then its segments.
    address = f"{timeline['VideoURL']}?starttime_epoch={start}&endtime_epoch={start + 60}"
    signed = sdk_call(sdk_client, "GenerateSignedVideoURL", VideoURL=address,
                      ExpireTime=int(time.time()) + 300)["SignedVideoURL"]
    playlist = _fetch(signed).decode()
    segment_urls = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert len(segment_urls) == 6
    first = _fetch(requests.compat.urljoin(signed, segment_urls[0]))
    frames = _frames(first, "video")
    assert len(frames) == 150
    assert frames[0].format.width == 640
    assert _frames(first, "audio")


def test_event_backfill_makes_events_with_data_and_thumbnails(runs, sdk_client):
    run = runs["event"]
    camera, start = run.camera, run.start
    assert run.returncode == 0, run.stderr

    page = sdk_call(sdk_client, "DescribeCloudStorageEvents", ProductId=camera.product_id,
                    DeviceName=camera.device_name, StartTime=start, EndTime=start + 60, Size=10)
    events = sorted(page["Events"], key=lambda e: e["StartTime"])
    assert [e["StartTime"] for e in events] == [start, start + 20, start + 40]
    for event in events:
        assert event["UploadStatus"] == "Finished"
        assert 1 <= event["EndTime"] - event["StartTime"] < 20
        assert json.loads(event["Data"])["simulated"] is True
        assert event["EventId"] in {"motion", "person", "sound"}
        assert event["Thumbnail"]
    url = sdk_call(sdk_client, "DescribeCloudStorageThumbnail", ProductId=camera.product_id,
                   DeviceName=camera.device_name, Thumbnail=events[0]["Thumbnail"])["ThumbnailURL"]
    assert Image.open(io.BytesIO(_fetch(url))).size == (640, 360)

    # Event mode records only inside events: the timeline is the events, with gaps between.
    spans = sdk_call(sdk_client, "DescribeCloudStorageTime", ProductId=camera.product_id,
                     DeviceName=camera.device_name, Date=_day(start))["Data"]["TimeList"]
    assert [(s["StartTime"], s["EndTime"]) for s in spans] == [
        (e["StartTime"], e["EndTime"]) for e in events]


def test_picture_backfill_makes_mjpeg_and_aac_events(runs, sdk_client):
    run = runs["picture"]
    camera, start = run.camera, run.start
    assert run.returncode == 0, run.stderr

    events = sdk_call(sdk_client, "DescribeCloudStorageEvents", ProductId=camera.product_id,
                      DeviceName=camera.device_name, StartTime=start, EndTime=start + 60,
                      Size=10)["Events"]
    events.sort(key=lambda e: e["StartTime"])
    assert [e["StartTime"] for e in events] == [start + 15 * k for k in range(4)]
    assert all(1 <= e["EndTime"] - e["StartTime"] <= 10 and e["Thumbnail"] for e in events)

    first = events[0]
    stream = sdk_call(sdk_client, "DescribeCloudStorageStreamData", ProductId=camera.product_id,
                      DeviceName=camera.device_name, StartTime=first["StartTime"])
    seconds = first["EndTime"] - first["StartTime"]
    video = _frames(_fetch(stream["VideoStream"]), "video", fmt="mjpeg")
    assert len(video) == seconds * 5
    audio = _frames(_fetch(stream["AudioStream"]), "audio", fmt="aac")
    assert abs(sum(f.samples for f in audio) / 16000 - seconds) < 0.1


def test_uploads_without_a_package_are_refused_with_the_reason(runs, sdk_client):
    run = runs["no_package"]
    assert run.returncode != 0
    assert "No cloud-storage package is in force" in run.stderr
    assert "no_package" in run.stderr
    assert sdk_call(sdk_client, "DescribeCloudStorageDate", ProductId=run.camera.product_id,
                    DeviceName=run.camera.device_name)["Data"] == []


# Refusals need no media to speak of, so they run the command in this process (still over HTTP
# against the live cloud): starting a Python process for each would cost more than the check.
def _call(localcloud, camera: Camera, *args: str, psk: bool = True):
    options = ["--cloud", localcloud.url, "--product", camera.product_id,
               "--device", camera.device_name, *args]
    if psk:
        options += ["--psk", camera.psk]
    call_command("simulate_device", *options, stdout=io.StringIO())


def test_continuous_recording_with_an_event_package_is_refused(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    start = _buy(sdk_client, camera, "ye1m7d")
    with pytest.raises(CommandError, match="needs a full-time package"):
        _call(localcloud, camera, "--mode", "fulltime", "--duration", "10",
              "--start", str(start))


@pytest.mark.parametrize(("picture", "mode"), [(False, "picture"), (True, "event"),
                                               (True, "fulltime")])
def test_media_of_the_wrong_product_kind_is_refused(sdk_client, localcloud, picture, mode):
    camera = provision(sdk_client, localcloud, picture=picture)
    start = _buy(sdk_client, camera, "ye1m7d")
    with pytest.raises(CommandError, match="wrong_product_kind"):
        _call(localcloud, camera, "--mode", mode, "--duration", "5", "--start", str(start))


def test_a_wrong_psk_is_refused_by_the_cloud(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    camera.psk = "not-the-psk"
    with pytest.raises(CommandError, match="bad_signature"):
        _call(localcloud, camera, "--mode", "fulltime", "--duration", "5")


def test_psk_lookup_with_a_wrong_api_key_says_so(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud)
    with pytest.raises(CommandError, match="Cannot look up the PSK.*AuthFailure"):
        _call(localcloud, camera, "--mode", "fulltime", "--duration", "5",
              "--secret-id", "AKIDunknown", "--secret-key", "nope", psk=False)


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "fulltime"], "--duration is required"),
    (["--mode", "fulltime", "--duration", "0"], "at least 1 second"),
    (["--mode", "event", "--duration", "10", "--event-every", "0"], "--event-every"),
    (["--mode", "fulltime", "--realtime", "--start", "5"], "--start is for backfills"),
    (["--mode", "fulltime", "--duration", "5", "--time-zone", "Mars/Base"], "Bad media settings"),
])
def test_bad_options_are_refused_before_anything_is_sent(sdk_client, localcloud, args, message):
    camera = provision(sdk_client, localcloud)
    with pytest.raises(CommandError, match=message):
        _call(localcloud, camera, *args)


def test_realtime_uploads_what_it_recorded_and_heartbeats(runs, sdk_client):
    run = runs["live"]
    camera = run.camera
    assert run.returncode == 0, run.stderr
    device = sdk_call(sdk_client, "DescribeDevice", ProductId=camera.product_id,
                      DeviceName=camera.device_name)
    assert device["LoginTime"] > 0
    spans = sdk_call(sdk_client, "DescribeCloudStorageTime", ProductId=camera.product_id,
                     DeviceName=camera.device_name,
                     Date=_day(device["LoginTime"]))["Data"]["TimeList"]
    assert len(spans) == 1
    assert spans[0]["EndTime"] - spans[0]["StartTime"] == 3
    # Live: it records from the moment it came online.
    assert 0 <= spans[0]["StartTime"] - device["LoginTime"] <= 2


def test_realtime_stops_cleanly_on_ctrl_c(runs):
    run = runs["live_stopped"]
    assert run.returncode == 0, run.stderr
    assert "stopped" in run.stdout
