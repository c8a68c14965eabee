"""JSON shapes of the fleet API."""
from rest_framework import serializers

from devices.models import Device, DeviceGrant, Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "product_id", "name", "device_type", "category_id", "description",
                  "stream_kind", "low_power", "removed_upstream", "synced_at"]
        read_only_fields = ["id", "product_id", "category_id", "removed_upstream", "synced_at"]


class ProductCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    stream_kind = serializers.ChoiceField(choices=["video", "picture"])
    low_power = serializers.BooleanField(default=False)
    device_type = serializers.ChoiceField(choices=[1, 2], default=1)
    description = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")


class PackageSerializer(serializers.Serializer):
    state = serializers.CharField(source="package_state")
    type = serializers.IntegerField(source="package_type", allow_null=True)
    retention_days = serializers.IntegerField(source="package_retention_days", allow_null=True)
    expires_at = serializers.DateTimeField(source="package_expires_at", allow_null=True)
    queued = serializers.IntegerField(source="package_queued_count")


class DeviceSerializer(serializers.ModelSerializer):
    product = serializers.SerializerMethodField()
    stream_kind = serializers.CharField(source="product.stream_kind", read_only=True)
    owner_email = serializers.SerializerMethodField()
    package = PackageSerializer(source="*", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=50,
                                 required=False)

    class Meta:
        model = Device
        fields = ["id", "name", "nickname", "product", "stream_kind", "online", "enabled",
                  "last_seen_at", "package", "owner_email", "tags", "location", "notes",
                  "removed_upstream", "synced_at"]
        read_only_fields = ["id", "name", "online", "enabled", "last_seen_at",
                            "removed_upstream", "synced_at"]

    def get_product(self, device) -> dict:
        return {"id": device.product_id, "product_id": device.product.product_id,
                "name": device.product.name}

    def get_owner_email(self, device) -> str | None:
        return device.owner.email if device.owner_id else None


class GrantSerializer(serializers.ModelSerializer):
    device = serializers.IntegerField(source="device_id")
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = DeviceGrant
        fields = ["id", "device", "email", "created_at"]
        read_only_fields = ["id", "created_at"]
