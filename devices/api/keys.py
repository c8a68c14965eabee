"""Per-tenant API keys: shown once when made, kept only as a hash, revocable, each bound to a
tenant and a role."""
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Role, Tenant

KEY_PREFIX = "pk"


def _hash(secret: str) -> str:
    # The secret is 32 random bytes, so a plain SHA-256 cannot be brute-forced; a slow password
    # hash would only make every API request slower.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    # The public part of the key: finds the row without a scan; the secret part is only hashed.
    lookup = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({KEY_PREFIX}_{self.lookup}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def new_key_material(cls) -> tuple[str, str, str]:
        """(full key to show once, lookup, hash to store)."""
        lookup = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        return f"{KEY_PREFIX}_{lookup}_{secret}", lookup, _hash(secret)

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.key_hash, _hash(secret))

    @staticmethod
    def split(full_key: str) -> tuple[str, str] | None:
        parts = full_key.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        return parts[1], parts[2]
