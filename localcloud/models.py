"""localcloud's own tables: API key pairs, products, devices, batches, packages (orders),
recordings (segments merged into spans), events and media-signing state.

All times are Unix seconds (ints), as on the wire; "now" always comes from localcloud.clock
so tests can move time.

Every upload writes a segment, a nonce and a span, so each index on those tables costs on every
upload: a foreign key already leading a composite index or constraint gets no index of its
own (db_index=False)."""
from django.db import models


class ApiKey(models.Model):
    """A SecretId/SecretKey pair the cloud API accepts (besides the env's demo pair)."""

    secret_id = models.CharField(max_length=64, unique=True)
    # The cloud must recompute HMACs, so it keeps the key itself (as Tencent does).
    secret_key = models.CharField(max_length=64)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.secret_id


class Product(models.Model):
    CATEGORY_PICTURE_STREAM = 595  # visual intercom lock: picture-stream devices

    product_id = models.CharField(max_length=32, unique=True)
    product_name = models.CharField(max_length=64)
    device_type = models.IntegerField(default=1)  # 1 camera, 2 NVR (has channels)
    category_id = models.IntegerField(default=0)
    product_vaild_years = models.IntegerField(default=1)  # (sic) the SDK's spelling
    features = models.JSONField(default=list)
    chip_os = models.CharField(max_length=64, blank=True)
    chip_manufacture_id = models.CharField(max_length=64, blank=True)
    chip_id = models.CharField(max_length=64, blank=True)
    product_description = models.CharField(max_length=256, blank=True)
    encryption_type = models.IntegerField(default=1)
    net_type = models.CharField(max_length=32, blank=True)
    created_at = models.BigIntegerField()
    updated_at = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.product_name} ({self.product_id})"

    @property
    def is_picture_stream(self) -> bool:
        return self.category_id == self.CATEGORY_PICTURE_STREAM

    @property
    def is_nvr(self) -> bool:
        return self.device_type == 2


class Batch(models.Model):
    batch_id = models.BigIntegerField(unique=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="batches")
    dev_num = models.IntegerField()
    dev_pre = models.CharField(max_length=32)
    created_at = models.BigIntegerField()

    def __str__(self) -> str:
        return f"batch {self.batch_id}"


class Device(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="devices")
    device_name = models.CharField(max_length=64)
    psk = models.CharField(max_length=64)
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.SET_NULL)
    enable_state = models.IntegerField(default=1)  # 1 enabled, 0 disabled
    log_level = models.IntegerField(default=0)
    login_time = models.BigIntegerField(default=0)  # last heartbeat (Unix s), 0 = never
    expire_time = models.BigIntegerField(default=0)
    free_trial_used = models.BooleanField(default=False)
    created_at = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "device_name"], name="lc_device_unique_name")
        ]

    def __str__(self) -> str:
        return self.device_name


class Package(models.Model):
    """One purchased cloud-storage package (one order). Its state follows from its times:
    waiting before start_time, in force until expire_time, expired after."""

    order_id = models.CharField(max_length=64, unique=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="packages",
                               db_index=False)  # led by the composite index below
    channel_id = models.IntegerField(default=0)
    package_id = models.CharField(max_length=16)
    cs_type = models.IntegerField()  # 1 full-time, 2 event
    shift_duration = models.IntegerField()  # retention days
    duration = models.BigIntegerField()  # seconds of service bought
    start_time = models.BigIntegerField(db_index=True)
    expire_time = models.BigIntegerField(db_index=True)
    price = models.IntegerField(default=0)  # cents
    amount = models.IntegerField(default=0)  # cents actually charged
    is_free = models.BooleanField(default=False)
    user_id = models.CharField(max_length=64, blank=True)
    storage_region = models.CharField(max_length=32, blank=True)
    cancelled = models.BooleanField(default=False)  # removed by Reset or Transfer
    created_at = models.BigIntegerField()
    updated_at = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["device", "channel_id", "start_time"])]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.package_id}"


class Segment(models.Model):
    """One uploaded MPEG-TS segment of a video-stream device."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="segments",
                               db_index=False)  # led by the unique constraint below
    channel_id = models.IntegerField(default=0)
    start_time = models.BigIntegerField()
    end_time = models.BigIntegerField()
    duration_ms = models.IntegerField()
    path = models.CharField(max_length=255)  # storage name
    size = models.IntegerField()
    sha256 = models.CharField(max_length=64)
    retention_days = models.IntegerField()  # the package in force at upload decides
    event = models.ForeignKey("Event", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="segments")
    # end_time + retention: when retention removes it (indexed so purges walk an index).
    purge_at = models.BigIntegerField(default=0, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "channel_id", "start_time"],
                                    name="lc_segment_unique_start")
        ]
        indexes = [models.Index(fields=["device", "channel_id", "end_time"])]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.channel_id} {self.start_time}-{self.end_time}"


class Span(models.Model):
    """Contiguous recorded time of one device: adjacent segments merge into one span."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="spans",
                               db_index=False)  # led by the indexes below
    channel_id = models.IntegerField(default=0)
    start_time = models.BigIntegerField()
    end_time = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["device", "channel_id", "start_time"]),
                   models.Index(fields=["device", "channel_id", "end_time"])]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.channel_id} {self.start_time}-{self.end_time}"


class RecordingDay(models.Model):
    """Days (in LOCALCLOUD_TIME_ZONE) that hold recordings, for DescribeCloudStorageDate."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="recording_days",
                               db_index=False)  # led by the unique constraint below
    channel_id = models.IntegerField(default=0)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "channel_id", "day"], name="lc_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.channel_id} {self.day}"


class Event(models.Model):
    """An event recording: video-stream (its segments) or picture-stream (MJPEG + AAC)."""

    class UploadStatus(models.TextChoices):
        FINISHED = "Finished"
        PARTIAL = "Partial"
        FAILED = "Failed"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events",
                               db_index=False)  # led by the indexes below
    channel_id = models.IntegerField(default=0)
    event_id = models.CharField(max_length=64)
    start_time = models.BigIntegerField()
    end_time = models.BigIntegerField(default=0)  # 0 while the event is open
    thumbnail = models.CharField(max_length=128, blank=True)  # file name as the API returns it
    thumbnail_path = models.CharField(max_length=255, blank=True)
    upload_status = models.CharField(max_length=16, choices=UploadStatus.choices,
                                     default=UploadStatus.PARTIAL)
    data = models.TextField(blank=True)  # the device's custom data
    video_path = models.CharField(max_length=255, blank=True)  # picture-stream MJPEG
    audio_path = models.CharField(max_length=255, blank=True)  # picture-stream AAC
    retention_days = models.IntegerField(default=0)
    purge_at = models.BigIntegerField(default=0, db_index=True)  # see Segment.purge_at
    frame_rate = models.IntegerField(default=0)  # picture-stream MJPEG frames per second
    media_sha256 = models.CharField(max_length=64, blank=True)  # picture-stream upload, for repeats

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "channel_id", "event_id", "start_time"],
                                    name="lc_event_unique")
        ]
        # Paging walks (device, channel, start_time desc, id desc) with a keyset cursor.
        indexes = [models.Index(fields=["device", "channel_id", "start_time", "id"])]

    def __str__(self) -> str:
        return f"{self.event_id} at {self.start_time}"


class DeviceNonce(models.Model):
    """Nonces seen from devices inside the timestamp window (replay protection)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE,
                               db_index=False)  # led by the unique constraint below
    nonce = models.CharField(max_length=64)
    seen_at = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "nonce"], name="lc_nonce_unique")
        ]

    def __str__(self) -> str:
        return self.nonce
