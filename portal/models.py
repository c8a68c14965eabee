"""Tenants (camera companies), memberships with roles, each tenant's cloud connection,
invitations, user profiles and the audit log."""
import secrets
import zoneinfo

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import crypto


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    STAFF = "staff", _("Staff")
    VIEWER = "viewer", _("Viewer")


TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class Tenant(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                 choices=TIME_ZONE_CHOICES)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class CloudConnection(models.Model):
    """How a tenant reaches its IoT Video cloud: the embedded localcloud or Tencent's."""

    class Kind(models.TextChoices):
        LOCAL = "local", _("localcloud")
        TENCENT = "tencent", _("Tencent Cloud")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="cloud")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LOCAL)
    endpoint = models.CharField(_("localcloud URL"), max_length=200, blank=True,
                                help_text=_("For localcloud, e.g. http://127.0.0.1:8010"))
    region = models.CharField(max_length=32, default="ap-guangzhou")
    secret_id = models.CharField(max_length=128)
    secret_key_encrypted = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cloud connection")
        verbose_name_plural = _("cloud connections")

    def __str__(self) -> str:
        return f"{self.tenant}: {self.get_kind_display()}"

    @property
    def secret_key(self) -> str:
        return crypto.decrypt(self.secret_key_encrypted)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.secret_key_encrypted = crypto.encrypt(value)



class UserProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="profile")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True,
                                 choices=TIME_ZONE_CHOICES,
                                 help_text=_("Empty: the tenant's time zone"))
    language = models.CharField(_("language"), max_length=16, blank=True,
                                choices=settings.LANGUAGES,
                                help_text=_("Empty: the browser's language"))

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user}"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant} ({self.role})"

    @property
    def expires_at(self):
        return self.created_at + timezone.timedelta(seconds=settings.INVITATION_MAX_AGE)

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and timezone.now() < self.expires_at


class AuditEntry(models.Model):
    """Who did what to which object of which tenant, with the values before and after."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True,
                                   help_text="Shown when there is no user (a task, an API key)")
    action = models.CharField(max_length=16)  # create / update / delete / or a verb
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=128)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["tenant", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} #{self.object_id}"


# The cloud client's call log lives beside the client; imported here so it belongs to this app.
from portal.iotvideo.models import CloudCall  # noqa: E402, F401
