"""The portal's mirror of the cloud's products and devices, with the portal's own metadata
(nickname, tags, notes, location, owner, grants) that the cloud does not hold."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Tenant


def normalize_tags(tags) -> list[str]:
    """Tags as the portal keeps them: trimmed, lower case, no commas, no duplicates, in order."""
    seen: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip().lower().replace(",", " ")[:40]
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def tag_index_for(tags: list[str]) -> str:
    return f",{','.join(tags)}," if tags else ""


class StreamKind(models.TextChoices):
    VIDEO = "video", _("Video stream")
    PICTURE = "picture", _("Picture stream")


class Product(models.Model):
    PICTURE_STREAM_CATEGORY = 595

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="products")
    product_id = models.CharField(max_length=32)
    name = models.CharField(_("name"), max_length=64)
    device_type = models.IntegerField(default=1)  # 1 camera, 2 NVR
    category_id = models.IntegerField(default=0)
    description = models.CharField(max_length=256, blank=True)
    # The portal's own knowledge of the product.
    stream_kind = models.CharField(max_length=16, choices=StreamKind.choices,
                                   default=StreamKind.VIDEO)
    low_power = models.BooleanField(_("low-power (battery)"), default=False)
    removed_upstream = models.BooleanField(default=False)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product_id"], name="product_unique_per_tenant")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.product_id})"


class PackageState(models.TextChoices):
    NONE = "none", _("No package")
    ACTIVE = "active", _("In force")
    EXPIRED = "expired", _("Expired")


class Device(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="devices")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("device name"), max_length=64)
    # Mirrored from the cloud by the sync.
    online = models.IntegerField(default=0)  # DescribeDevice.Online: 0 offline, 1 online, ...
    enabled = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    package_state = models.CharField(max_length=16, choices=PackageState.choices,
                                     default=PackageState.NONE, db_index=True)
    package_type = models.IntegerField(null=True, blank=True)  # 1 full-time, 2 event
    package_retention_days = models.IntegerField(null=True, blank=True)
    package_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    package_queued_count = models.IntegerField(default=0)
    removed_upstream = models.BooleanField(default=False)
    synced_at = models.DateTimeField(null=True, blank=True)
    # The portal's own metadata, never overwritten by the sync.
    nickname = models.CharField(_("nickname"), max_length=100, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_devices")
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the package in force and the queue were last read from the cloud; the sync reads
    # them again only for devices where they may have changed (see devices.services).
    packages_synced_at = models.DateTimeField(null=True, blank=True)
    # ",tag1,tag2," (lower case): lets every database filter and search by tag with one LIKE,
    # where JSON containment is not portable (SQLite has none).
    tag_index = models.CharField(max_length=1000, blank=True, default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product", "name"], name="device_unique_per_product")
        ]
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            # Keyset pagination of the fleet page for each sort order it offers.
            models.Index(fields=["tenant", "last_seen_at", "id"], name="device_tenant_seen_id"),
            models.Index(fields=["tenant", "package_expires_at", "id"], name="device_tenant_expiry_id"),
            models.Index(fields=["tenant", "nickname", "id"], name="device_tenant_nick_id"),
        ]

    def __str__(self) -> str:
        return self.nickname or self.name

    def save(self, *args, **kwargs):
        self.tags = normalize_tags(self.tags)
        self.tag_index = tag_index_for(self.tags)
        if kwargs.get("update_fields") is not None and "tags" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "tag_index"}
        super().save(*args, **kwargs)

    @property
    def stream_kind(self) -> str:
        return self.product.stream_kind


class DeviceGrant(models.Model):
    """An end user (viewer) may see this device."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="device_grants")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "user"], name="one_grant_per_user")]

    def __str__(self) -> str:
        return f"{self.user} → {self.device}"


class SyncRun(models.Model):
    """One run of the cloud sync of a tenant, with the progress the page shows while it runs."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_runs")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Progress: devices read from the cloud out of the total the cloud reported.
    total = models.IntegerField(default=0)
    done = models.IntegerField(default=0)
    products_seen = models.IntegerField(default=0)
    devices_added = models.IntegerField(default=0)
    devices_updated = models.IntegerField(default=0)
    devices_removed = models.IntegerField(default=0)
    packages_read = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="syncrun_tenant_created")]

    def __str__(self) -> str:
        return f"sync {self.pk} of {self.tenant_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


# API keys live beside the API; importing them here registers them with the app.
from devices.api.keys import ApiKey  # noqa: E402,F401

# Orders and prices live in their own module; importing it here registers them with the app.
from devices.order_models import *  # noqa: E402,F401,F403
