"""URLs of the fleet API (/api/v1/)."""
from django.urls import path

from devices.api import views

app_name = "api"

urlpatterns = [
    path("products/", views.ProductList.as_view(), name="products"),
    path("devices/", views.DeviceList.as_view(), name="devices"),
    path("devices/<int:pk>/", views.DeviceDetail.as_view(), name="device"),
    path("grants/", views.GrantList.as_view(), name="grants"),
    path("grants/<int:pk>/", views.GrantDetail.as_view(), name="grant"),
    path("tags/", views.TagList.as_view(), name="tags"),
]

# Cloud-storage orders and purchases (the packages feature, devices/packages/api.py).
from devices.packages.api import urlpatterns as package_urlpatterns  # noqa: E402

urlpatterns += package_urlpatterns
