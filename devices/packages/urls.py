"""URLs of the packages pages, included into the `devices` namespace by devices/urls.py."""
from django.urls import path

from devices.packages import views

urlpatterns = [
    path("packages/prices/", views.prices, name="prices"),
    path("packages/purchase/", views.purchase_new, name="purchase_new"),
    path("packages/purchases/<int:pk>/review/", views.purchase_review, name="purchase_review"),
    path("packages/purchases/<int:pk>/", views.purchase_detail, name="purchase_detail"),
    path("packages/orders/", views.orders, name="orders"),
    path("packages/orders/<int:pk>/retry/", views.order_retry, name="order_retry"),
    path("packages/spend/", views.spend, name="spend"),
    path("packages/renewals/", views.renewals, name="renewals"),
    path("packages/device/<int:device_id>/", views.device_storage, name="device_storage"),
    path("packages/device/<int:device_id>/auto-renew/", views.device_auto_renew,
         name="device_auto_renew"),
    path("packages/device/<int:device_id>/transfer/", views.device_transfer, name="device_transfer"),
    path("packages/device/<int:device_id>/reset/", views.device_reset, name="device_reset"),
    path("packages/device/<int:device_id>/free-trial/", views.device_free_trial,
         name="device_free_trial"),
]
