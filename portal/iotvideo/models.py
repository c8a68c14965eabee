"""CloudCall: calls to the cloud API counted per tenant, action and minute (for the admin page)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class CloudCall(models.Model):
    """One row per tenant, action and minute that saw traffic, so the table stays small
    (a busy tenant with 20 actions writes at most 28,800 rows a day, pruned after two days)."""

    tenant = models.ForeignKey("portal.Tenant", on_delete=models.CASCADE, related_name="+")
    action = models.CharField(_("action"), max_length=64)
    minute = models.DateTimeField(_("minute"))
    # Requests sent to the cloud (each retry is one more).
    calls = models.PositiveIntegerField(default=0)
    # Requests that came back with an error (throttles included).
    errors = models.PositiveIntegerField(default=0)
    # RequestLimitExceeded answers plus calls our own limiter refused.
    throttles = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0)  # sum over `calls`

    class Meta:
        app_label = "portal"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "action", "minute"],
                                    name="cloudcall_one_row_per_minute"),
        ]
        indexes = [models.Index(fields=["tenant", "minute"])]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.action} {self.minute:%Y-%m-%d %H:%M}: {self.calls}"
