"""How fast the device simulator makes media: seconds of media per wall-clock second (p50/p95)
for full-time/event H.264 + AAC segments and picture-stream MJPEG + AAC events.

    python bench/simulator_bench.py [--segments 60] [--events 30] [--fps 15] [--size 640x360]
        [--cloud URL --product ID --device NAME --psk PSK --start EPOCH]

Measures media generation; with --cloud (a device whose full-time package is in force from
--start) also a 280 s backfill uploaded through the device API, the cloud's ingest included.
The target is ≥ 10× real time on the demo machine. Never fails: it prints a table."""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402

from bench import stats  # noqa: E402
from bench.stats import percentile  # noqa: E402
from localcloud.simulator.media import MediaSpec, VideoRecorder, picture_event  # noqa: E402

START = 1_764_300_000


def machine() -> str:
    return f"{stats.machine()}, PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info})"


def bench_segments(count: int, spec: MediaSpec) -> tuple[list[float], float]:
    """Speed of each 10 s segment of one continuous recording (wall clock), and the overall
    speed per CPU second (what one uncontended core would give)."""
    recorder = VideoRecorder(device_name="bench-cam", start=START, spec=spec)
    recorder.segment(1)  # one-time setup (fonts, audio loop) is not what we measure
    speeds = []
    cpu = time.process_time()
    for i in range(count):
        began = time.perf_counter()
        segment = recorder.segment(spec.segment_seconds, final=i == count - 1)
        speeds.append(segment.duration / (time.perf_counter() - began))
    return speeds, count * spec.segment_seconds / (time.process_time() - cpu)


def bench_picture(count: int, spec: MediaSpec) -> tuple[list[float], float]:
    speeds = []
    picture_event(device_name="bench-lock", start=START, seconds=1, spec=spec)
    cpu = time.process_time()
    for i in range(count):
        began = time.perf_counter()
        event = picture_event(device_name="bench-lock", start=START + 20 * i, seconds=10,
                              spec=spec)
        speeds.append((event.end - event.start) / (time.perf_counter() - began))
    return speeds, count * 10 / (time.process_time() - cpu)


def bench_backfill(seconds: int, spec: MediaSpec) -> float:
    """A whole backfill window end to end (setup included), as simulate_device makes it."""
    began = time.perf_counter()
    recorder = VideoRecorder(device_name="bench-cam", start=START, spec=spec)
    recorder.record(seconds)
    return seconds / (time.perf_counter() - began)


def bench_upload(args, spec: MediaSpec) -> float:
    from localcloud.simulator.camera import Camera
    from localcloud.simulator.device_client import DeviceClient

    client = DeviceClient(cloud=args.cloud, product_id=args.product, device_name=args.device,
                          psk=args.psk)
    # 280 s: the cloud takes recordings up to 300 s ahead of its clock, and the package of a
    # fresh device starts now.
    camera = Camera(client=client, mode="fulltime", spec=spec, workers=args.workers)
    return camera.backfill(start=args.start, duration=280).speed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=60, help="10 s segments to time")
    parser.add_argument("--events", type=int, default=30, help="10 s picture events to time")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--cloud", help="also time an uploaded backfill against this cloud")
    parser.add_argument("--product")
    parser.add_argument("--device")
    parser.add_argument("--psk")
    parser.add_argument("--start", type=int)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    spec = MediaSpec(width=width, height=height, fps=args.fps, time_zone="Asia/Shanghai")

    print(f"machine: {machine()}")
    print(f"load:    {' '.join(f'{v:.1f}' for v in os.getloadavg())} (1/5/15 min) at start")
    print(f"media:   {width}x{height}, {spec.fps} fps H.264 (x264 ultrafast/zerolatency, "
          f"GOP {spec.gop_seconds} s) + AAC {spec.sample_rate} Hz; "
          f"picture-stream {spec.picture_fps} fps MJPEG + AAC")
    rows = [
        ("full-time/event segment (10 s)", bench_segments(args.segments, spec)),
        ("picture-stream event (10 s)", bench_picture(args.events, spec)),
    ]
    print()
    print(f"{'what':34} {'n':>4} {'p50 ×rt':>9} {'p95 ×rt':>9} {'min ×rt':>9} {'cpu ×rt':>9}")
    for name, (speeds, per_cpu) in rows:
        # p95 of the *time* is the slow tail, i.e. the 5th percentile of the speed.
        print(f"{name:34} {len(speeds):4d} {statistics.median(speeds):9.1f} "
              f"{percentile(speeds, 0.05):9.1f} {min(speeds):9.1f} {per_cpu:9.1f}")
    window = 600
    print(f"{'backfill of 600 s, setup included':34} {1:4d} {bench_backfill(window, spec):9.1f}")
    if args.cloud:
        print(f"{'backfill of 280 s, uploaded':34} {1:4d} {bench_upload(args, spec):9.1f}")
    print(f"load:    {' '.join(f'{v:.1f}' for v in os.getloadavg())} (1/5/15 min) at end")
    print("\n×rt = seconds of media made per wall-clock second; p95 = the slowest 5 % "
          "(5th percentile of speed); cpu ×rt = per second of this process's CPU time.")


if __name__ == "__main__":
    main()
