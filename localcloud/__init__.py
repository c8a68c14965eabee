"""localcloud: a working IoT Video cloud behind the real Tencent API, plus the device side."""
