"""The fleet API: products, devices (the fleet page's filters, search and keyset pages),
grants and tags. Views validate input and call devices.selectors / devices.services."""
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import selectors, services
from devices.api.authentication import ApiKeyAuthentication
from devices.api.permissions import AdminOnly, AdminWrites, TenantMember
from devices.api.serializers import (
    DeviceSerializer,
    GrantSerializer,
    ProductCreateSerializer,
    ProductSerializer,
)
from devices.forms import FleetFilterForm
from devices.models import Device, DeviceGrant
from portal.iotvideo import errors as cloud_errors
from portal.models import Role


class FleetAPIView(APIView):
    # The API key first, so a request without credentials is told how to authenticate (401).
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]


def _ctx(request):
    r = request._request
    return r.tenant, r.role


def _service_call(fn, **kwargs):
    """Run a service; a refusal or a cloud error becomes a 400 with its message."""
    try:
        return fn(**kwargs)
    except services.ServiceError as exc:
        raise ValidationError({"detail": exc.message})
    except cloud_errors.CloudError as exc:
        raise ValidationError({"detail": exc.message, "code": exc.code})


class ProductList(FleetAPIView):
    permission_classes = [AdminWrites]

    @extend_schema(responses=ProductSerializer(many=True))
    def get(self, request):
        tenant, _role = _ctx(request)
        return Response({"results": ProductSerializer(selectors.product_list(tenant=tenant),
                                                      many=True).data})

    @extend_schema(request=ProductCreateSerializer, responses={201: ProductSerializer})
    def post(self, request):
        tenant, _role = _ctx(request)
        data = ProductCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = _service_call(services.product_create, tenant=tenant, actor=request.user,
                                **data.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


FILTER_PARAMS = [
    OpenApiParameter("q", str, description="Search in name, nickname and tags"),
    OpenApiParameter("product", int, description="Product (portal id)"),
    OpenApiParameter("online", str, enum=["online", "offline"]),
    OpenApiParameter("package", str, enum=["none", "active", "expiring", "expired"]),
    OpenApiParameter("days", int, description="With package=expiring: within this many days"),
    OpenApiParameter("kind", str, enum=["video", "picture"]),
    OpenApiParameter("tag", str),
    OpenApiParameter("owner", str, description="Owner's user id, or 'none'"),
    OpenApiParameter("removed", str, enum=["include", "only"]),
    OpenApiParameter("sort", str, description="name, nickname, last_seen, expiry, created; '-' first for descending"),
    OpenApiParameter("size", int, enum=[25, 50, 100, 200]),
    OpenApiParameter("cursor", str, description="The `next` cursor of the previous page"),
]


class DeviceList(FleetAPIView):
    permission_classes = [TenantMember]

    @extend_schema(parameters=FILTER_PARAMS, responses=inline_serializer(
        "DevicePage", {"results": DeviceSerializer(many=True), "next": serializers.CharField(allow_null=True),
                       "next_cursor": serializers.CharField(allow_null=True)}))
    def get(self, request):
        tenant, role = _ctx(request)
        form = FleetFilterForm(
            request.query_params, tenant=tenant, products=selectors.product_list(tenant=tenant),
            members=selectors.member_list(tenant=tenant) if role != Role.VIEWER else None,
            show_owner=role != Role.VIEWER)
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        qs = selectors.device_list(tenant=tenant, user=request.user, role=role,
                                   filters=form.filters())
        try:
            page = selectors.device_page(qs, sort=form.sort_key, cursor=form.cleaned_data["cursor"],
                                         size=form.page_size)
        except selectors.BadCursor:
            raise ValidationError({"cursor": [_("This cursor is damaged or outdated; start without one.")]})
        next_url = None
        if page.next_cursor:
            params: QueryDict = request.query_params.copy()
            params["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({"results": DeviceSerializer(page.items, many=True).data,
                         "next": next_url, "next_cursor": page.next_cursor})


class DeviceDetail(FleetAPIView):
    permission_classes = [AdminWrites]

    def _device(self, request, pk):
        tenant, role = _ctx(request)
        try:
            return (selectors.device_list_visible(tenant=tenant, user=request.user, role=role)
                    .select_related("owner").get(pk=pk))
        except (Device.DoesNotExist, ValueError, TypeError):
            raise Http404

    @extend_schema(responses=DeviceSerializer)
    def get(self, request, pk: int):
        return Response(DeviceSerializer(self._device(request, pk)).data)

    @extend_schema(request=DeviceSerializer, responses=DeviceSerializer)
    def patch(self, request, pk: int):
        device = self._device(request, pk)
        data = DeviceSerializer(device, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        device = services.device_update(
            device=device, actor=request.user, nickname=v.get("nickname", device.nickname),
            tags=v.get("tags", device.tags), notes=v.get("notes", device.notes),
            location=v.get("location", device.location))
        return Response(DeviceSerializer(device).data)


class GrantCreateSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    email = serializers.EmailField()


class GrantList(FleetAPIView):
    permission_classes = [AdminOnly]

    def _qs(self, request) -> QuerySet[DeviceGrant]:
        tenant, _role = _ctx(request)
        qs = selectors.grant_list(tenant=tenant)
        device = request.query_params.get("device")
        if device:
            if not device.isdigit():
                raise ValidationError({"device": [_("Give a device id.")]})
            qs = qs.filter(device_id=int(device))
        return qs

    @extend_schema(parameters=[OpenApiParameter("device", int)], responses=GrantSerializer(many=True))
    def get(self, request):
        return Response({"results": GrantSerializer(self._qs(request)[:1000], many=True).data})

    @extend_schema(request=GrantCreateSerializer, responses={201: GrantSerializer})
    def post(self, request):
        tenant, role = _ctx(request)
        data = GrantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = (selectors.device_list_visible(tenant=tenant, user=request.user, role=role)
                  .filter(pk=data.validated_data["device"]).first())
        if device is None:
            raise ValidationError({"device": [_("Unknown device.")]})
        member = services.member_by_email(tenant=tenant, email=data.validated_data["email"])
        if member is None:
            raise ValidationError({"email": [_("No member of this company has this email; invite them first.")]})
        grant = _service_call(services.grant_create, tenant=tenant, actor=request.user,
                              device=device, user=member.user)
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDetail(FleetAPIView):
    permission_classes = [AdminOnly]

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        tenant, _role = _ctx(request)
        grant = get_object_or_404(selectors.grant_list(tenant=tenant), pk=pk)
        services.grant_revoke(tenant=tenant, actor=request.user, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagList(FleetAPIView):
    permission_classes = [TenantMember]

    @extend_schema(responses=inline_serializer("Tags", {"results": serializers.ListField(child=serializers.CharField())}))
    def get(self, request):
        tenant, role = _ctx(request)
        return Response({"results": selectors.tag_list(tenant=tenant, user=request.user, role=role)})


__all__ = ["OpenApiTypes"]
