"""localcloud's notion of now, in Unix seconds (time-machine moves it in tests)."""
import time


def now() -> int:
    return int(time.time())
