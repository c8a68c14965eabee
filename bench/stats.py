"""What every benchmark needs: timing a call, percentiles, a one-line description of the
machine and how fast its CPU runs right now."""
import os
import platform
import time
import timeit
from pathlib import Path


def timed(fn, n: int) -> list[float]:
    """Milliseconds of `n` calls of `fn`, after one warm-up call (connections, caches, the
    server's first import of a view)."""
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile, p in [0, 1]."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def cpu_probe_us() -> float:
    """Microseconds of `sum(range(100))`, best of five timeit runs. The machines here are
    shared: the same code has run 55 % slower an hour into a session than at its start.
    Printed beside the results, it tells a slow machine from slow code. Take it while nothing
    else of the benchmark runs (not while a server starts)."""
    return min(timeit.repeat("sum(range(100))", number=50_000, repeat=5)) / 50_000 * 1e6
