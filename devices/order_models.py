"""Package catalog prices, orders and purchases (owned by the packages feature)."""
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Tenant

__all__ = ["PackagePrice", "Purchase", "Order", "StartMode", "OrderState", "OrderKind",
           "new_order_id"]


def new_order_id() -> str:
    # The cloud's OrderId is global (not per tenant or device) and is the idempotency key of
    # CreateCloudStorage, so it must never repeat: a random UUID, made once when the order is.
    return f"po{uuid.uuid4().hex}"


class StartMode(models.TextChoices):
    OVERRIDE = "override", _("Now, replacing the package in force")
    FRONT = "front", _("Now, pushing the current package back")
    END = "end", _("After everything already bought")


class OrderState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUBMITTING = "submitting", _("Submitting")
    ACTIVE = "active", _("In force")
    QUEUED = "queued", _("Queued")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")  # cleared by a reset of the device's storage
    FAILED = "failed", _("Failed")


# States after which the cloud holds the package (money was spent).
PAID_STATES = (OrderState.ACTIVE, OrderState.QUEUED, OrderState.EXPIRED, OrderState.CANCELLED)
OPEN_STATES = (OrderState.PENDING, OrderState.SUBMITTING)


class OrderKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    RENEWAL = "renewal", _("Renewal")
    AUTO_RENEWAL = "auto_renewal", _("Auto-renewal")
    FREE_TRIAL = "free_trial", _("Free trial")


class PackagePrice(models.Model):
    """What the tenant charges (or pays) for a package, in cents of `currency`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="package_prices")
    package_id = models.CharField(_("package"), max_length=16)
    price_cents = models.PositiveIntegerField(_("price (cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "package_id"], name="one_price_per_package")
        ]
        ordering = ["package_id"]

    def __str__(self) -> str:
        return f"{self.package_id}: {self.price_cents / 100:.2f} {self.currency}"


class Purchase(models.Model):
    """One purchase of packages for one or many devices: first a draft the review page shows,
    then, once confirmed, the parent of one Order per device (and the progress bar's source)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONFIRMED = "confirmed", _("Confirmed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="purchases")
    # Unique per tenant: the form's hidden token, "api:<Idempotency-Key>" or "auto:<date>", so
    # a double submit, a reload or a repeated API call finds the purchase instead of making one.
    token = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=16, choices=OrderKind.choices, default=OrderKind.PURCHASE)
    # Empty for renewals, where each device renews its own package.
    package_id = models.CharField(max_length=16, blank=True)
    start_mode = models.CharField(max_length=16, choices=StartMode.choices, default=StartMode.END)
    device_ids = models.JSONField(default=list)  # the selection, kept from draft to confirm
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "token"], name="one_purchase_per_token")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.package_id or self.get_kind_display()}"


class Order(models.Model):
    """One package for one device, submitted to the cloud exactly once under `order_id`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="orders")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="orders")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="orders")
    kind = models.CharField(max_length=16, choices=OrderKind.choices, default=OrderKind.PURCHASE)
    package_id = models.CharField(_("package"), max_length=16)
    start_mode = models.CharField(max_length=16, choices=StartMode.choices, default=StartMode.END)
    order_id = models.CharField(max_length=64, unique=True, default=new_order_id, editable=False)
    state = models.CharField(max_length=16, choices=OrderState.choices,
                             default=OrderState.PENDING, db_index=True)
    price_cents = models.PositiveIntegerField(null=True, blank=True)  # null: no price was set
    currency = models.CharField(max_length=3, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # From the cloud (DescribeCloudStorageOrder) once it holds the package.
    start_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    transferred_from = models.CharField(max_length=140, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # A worker that claims the order holds it until then; after that (the worker died, the
    # broker lost its message) another run may take it over and ask the cloud first.
    lease_until = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # last reconciliation

    class Meta:
        constraints = [
            # A purchase holds at most one order per device, whatever reaches the server twice.
            models.UniqueConstraint(fields=["purchase", "device"], name="one_order_per_device_and_purchase"),
            # The cloud grants one free trial per device.
            models.UniqueConstraint(fields=["device"], condition=Q(kind="free_trial"),
                                    name="one_free_trial_per_device"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="order_tenant_created"),
            models.Index(fields=["tenant", "state"], name="order_tenant_state"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.package_id} → {self.device} ({self.order_id})"

    @property
    def price(self) -> Decimal | None:
        return Decimal(self.price_cents) / 100 if self.price_cents is not None else None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
