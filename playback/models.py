"""Share links: a clip or an event of one device that anyone holding the link may watch until
the link expires or is revoked, and the log of each view."""
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices.models import Device
from portal.models import Tenant

SHARE_MIN_VALIDITY = timedelta(hours=1)
SHARE_MAX_VALIDITY = timedelta(days=7)


def _share_token() -> str:
    return secrets.token_urlsafe(24)


class ShareLink(models.Model):
    class Kind(models.TextChoices):
        CLIP = "clip", _("Clip")
        EVENT = "event", _("Event")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="share_links")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="share_links")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CLIP)
    # The link grants exactly this range of the device's recordings, nothing around it.
    start = models.DateTimeField()
    end = models.DateTimeField()
    event_id = models.CharField(max_length=64, blank=True)
    token = models.CharField(max_length=64, unique=True, default=_share_token)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="share_range_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.device} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and timezone.now() < self.expires_at


class ShareView(models.Model):
    """One opening of a share link (the page or a signed URL behind it)."""

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="views")
    viewed_at = models.DateTimeField(default=timezone.now, db_index=True)
    what = models.CharField(max_length=16, default="page")  # page / signed-url / download
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-viewed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.link_id} {self.what} {self.viewed_at:%Y-%m-%d %H:%M:%S}"
