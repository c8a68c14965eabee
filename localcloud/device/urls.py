"""The device API (docs/device-api.md), under /device/v1/."""
from django.urls import path

from localcloud.device import views

urlpatterns = [
    path("device/v1/heartbeat", views.heartbeat, name="device-heartbeat"),
    path("device/v1/cloud-storage", views.cloud_storage, name="device-cloud-storage"),
    path("device/v1/segments", views.segment, name="device-segment"),
    path("device/v1/events/open", views.event_open, name="device-event-open"),
    path("device/v1/events/close", views.event_close, name="device-event-close"),
    path("device/v1/events/thumbnail", views.event_thumbnail, name="device-event-thumbnail"),
    path("device/v1/picture-events", views.picture_event, name="device-picture-event"),
]
