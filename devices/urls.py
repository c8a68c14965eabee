"""URLs of the fleet pages (namespace `devices`)."""
import importlib.util

from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("", views.fleet, name="fleet"),
    path("bulk/", views.bulk, name="bulk"),
    path("sync/", views.sync, name="sync"),
    path("products/", views.products, name="products"),
    path("products/<int:pk>/batch/", views.batch_create, name="batch_create"),
    path("end-users/", views.end_users, name="end_users"),
    path("import/", views.device_import, name="import"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("<int:pk>/", views.device_detail, name="device"),
    path("<int:pk>/edit/", views.device_edit, name="device_edit"),
    path("<int:pk>/refresh/", views.device_refresh, name="device_refresh"),
    path("<int:pk>/delete/", views.device_delete, name="device_delete"),
    path("<int:pk>/enable/", views.device_enable, name="device_enable"),
    path("<int:pk>/grants/", views.grant_add, name="grant_add"),
    path("<int:pk>/grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
]

# The packages feature (devices/packages/) adds its pages (purchase, orders) to this namespace.
if importlib.util.find_spec("devices.packages.urls") is not None:
    from devices.packages.urls import urlpatterns as package_urlpatterns

    urlpatterns += package_urlpatterns
