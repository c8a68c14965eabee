"""The packages API (/api/v1/): orders (list, detail, retry) and purchases (create with an
`Idempotency-Key` header, progress). Staff and admins only, scoped to the request's tenant."""
import secrets

from django.db import IntegrityError
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.api.permissions import TenantMember
from devices.order_models import Order, OrderState, Purchase, StartMode
from devices.packages import catalog, selectors, services
from devices.packages.forms import OrderFilterForm
from portal.models import Role

IDEMPOTENCY_HEADER = "Idempotency-Key"


class StaffOnly(TenantMember):
    # Lazy: a class attribute is read once at import, before any request picks a language.
    message = gettext_lazy("Only staff and admins can see and buy packages.")

    def has_permission(self, request, view):
        return super().has_permission(request, view) and \
            request._request.role in (Role.ADMIN, Role.STAFF)


class OrderSerializer(serializers.ModelSerializer):
    device = serializers.IntegerField(source="device_id")
    device_name = serializers.CharField(source="device.name")
    product_id = serializers.CharField(source="device.product.product_id")
    package_name = serializers.SerializerMethodField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)

    class Meta:
        model = Order
        fields = ["id", "order_id", "purchase", "device", "device_name", "product_id", "kind",
                  "package_id", "package_name", "start_mode", "state", "start_at", "expires_at",
                  "price", "currency", "failure_code", "failure_reason", "attempts",
                  "created_at", "updated_at"]

    def get_package_name(self, order) -> str:
        return catalog.package_name(order.package_id)


class PurchaseCreateSerializer(serializers.Serializer):
    package_id = serializers.ChoiceField(choices=list(catalog.PAID_PACKAGE_IDS))
    start_mode = serializers.ChoiceField(choices=StartMode.values, default=StartMode.END)
    devices = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1,
                                    max_length=selectors.SELECTION_LIMIT)


class PurchaseSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    ineligible = serializers.SerializerMethodField()

    class Meta:
        model = Purchase
        fields = ["id", "status", "kind", "package_id", "start_mode", "created_at",
                  "confirmed_at", "progress", "ineligible"]

    def get_progress(self, purchase) -> dict:
        p = selectors.purchase_progress(purchase=purchase)
        return {k: p[k] for k in ("total", "done", "active", "queued", "failed", "open",
                                  "finished", "percent")}

    def get_ineligible(self, purchase) -> list[dict]:
        ordered = set(purchase.orders.values_list("device_id", flat=True))
        package = catalog.parse(purchase.package_id) if purchase.package_id else None
        if package is None:
            return []
        rows = []
        for device in selectors.devices_by_ids(tenant=purchase.tenant, ids=purchase.device_ids):
            if device.pk not in ordered:
                rows.append({"device": device.pk, "device_name": device.name,
                             "reason": catalog.ineligibility_reason(package, device) or ""})
        return rows


class OrderPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


@extend_schema(parameters=[
    OpenApiParameter("state", OpenApiTypes.STR, enum=OrderState.values),
    OpenApiParameter("package", OpenApiTypes.STR),
    OpenApiParameter("device", OpenApiTypes.STR, description="device name contains"),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter("purchase", OpenApiTypes.INT),
], responses=OrderSerializer(many=True))
class OrderList(APIView):
    permission_classes = [StaffOnly]

    def get(self, request):
        params = request.query_params.copy()
        params.pop("cursor", None)
        form = OrderFilterForm(params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        qs = selectors.order_list(tenant=request._request.tenant, filters=form.cleaned_data)
        paginator = OrderPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(OrderSerializer(page, many=True).data)


class OrderDetail(APIView):
    permission_classes = [StaffOnly]

    @extend_schema(responses=OrderSerializer)
    def get(self, request, pk):
        return Response(OrderSerializer(_order(request, pk)).data)


class OrderRetry(APIView):
    permission_classes = [StaffOnly]

    @extend_schema(request=None, responses=OrderSerializer)
    def post(self, request, pk):
        order = _order(request, pk)
        if not services.order_retry(order=order, user=request.user):
            raise ValidationError({"detail": _("Only a failed order can be sent again.")})
        order.refresh_from_db()
        return Response(OrderSerializer(order).data, status=status.HTTP_202_ACCEPTED)


def _order(request, pk) -> Order:
    try:
        return Order.objects.select_related("device", "device__product").get(
            tenant=request._request.tenant, pk=pk)
    except Order.DoesNotExist:
        raise NotFound


class PurchaseList(APIView):
    permission_classes = [StaffOnly]

    @extend_schema(responses=PurchaseSerializer(many=True))
    def get(self, request):
        purchases = Purchase.objects.filter(tenant=request._request.tenant,
                                            status=Purchase.Status.CONFIRMED)[:50]
        return Response({"results": PurchaseSerializer(purchases, many=True).data})

    @extend_schema(
        request=PurchaseCreateSerializer,
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Send the same key to repeat a request safely: "
                                                 "the purchase is made once and returned again.")],
        responses={201: PurchaseSerializer, 200: PurchaseSerializer})
    def post(self, request):
        tenant = request._request.tenant
        data = PurchaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 100:
            raise ValidationError({IDEMPOTENCY_HEADER: _("At most 100 characters.")})
        device_ids = sorted(set(body["devices"]))
        known = set(selectors.devices_by_ids(tenant=tenant, ids=device_ids).values_list("pk", flat=True))
        if known != set(device_ids):
            raise ValidationError({"devices": _("Some devices do not exist in this company: %(ids)s") % {
                "ids": ", ".join(str(i) for i in device_ids if i not in known)}})
        token = f"api:{key}" if key else f"api-once:{secrets.token_urlsafe(24)}"
        existing = Purchase.objects.filter(tenant=tenant, token=token).first()
        if existing is not None and (existing.package_id, existing.start_mode, existing.device_ids) \
                != (body["package_id"], body["start_mode"], device_ids):
            return Response({"detail": _("This Idempotency-Key was already used for a different "
                                         "purchase; use a new key for a new purchase.")},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        try:
            purchase, created = services.purchase_direct(
                tenant=tenant, user=request.user, package_id=body["package_id"],
                start_mode=body["start_mode"], device_ids=device_ids, token=token)
        except services.PurchaseError as exc:
            raise ValidationError({"detail": str(exc), "ineligible": _ineligible(
                tenant, body["package_id"], device_ids)})
        except IntegrityError:
            purchase, created = Purchase.objects.get(tenant=tenant, token=token), False
        return Response(PurchaseSerializer(purchase).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _ineligible(tenant, package_id, device_ids) -> list[dict]:
    package = catalog.parse(package_id)
    return [{"device": d.pk, "device_name": d.name, "reason": reason}
            for d in selectors.devices_by_ids(tenant=tenant, ids=device_ids)
            if (reason := catalog.ineligibility_reason(package, d))]


class PurchaseDetail(APIView):
    permission_classes = [StaffOnly]

    @extend_schema(responses=PurchaseSerializer)
    def get(self, request, pk):
        try:
            purchase = Purchase.objects.get(tenant=request._request.tenant, pk=pk,
                                            status=Purchase.Status.CONFIRMED)
        except Purchase.DoesNotExist:
            raise NotFound
        return Response(PurchaseSerializer(purchase).data)


urlpatterns = [
    path("orders/", OrderList.as_view(), name="orders"),
    path("orders/<int:pk>/", OrderDetail.as_view(), name="order"),
    path("orders/<int:pk>/retry/", OrderRetry.as_view(), name="order_retry"),
    path("purchases/", PurchaseList.as_view(), name="purchases"),
    path("purchases/<int:pk>/", PurchaseDetail.as_view(), name="purchase"),
]
