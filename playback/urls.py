"""Playback pages under /cameras/."""
from django.urls import path

from playback import views

app_name = "playback"

urlpatterns = [
    path("", views.cameras, name="cameras"),
    path("<int:device_id>/", views.device_page, name="device"),
    path("<int:device_id>/thumb/", views.camera_thumb, name="thumb"),
    path("<int:device_id>/day/<str:day>/timeline", views.day_timeline, name="timeline"),
    path("<int:device_id>/signed-url", views.signed_url, name="signed_url"),
    path("<int:device_id>/download", views.clip_download, name="download"),
    path("<int:device_id>/events/<str:event_id>/stream", views.event_stream, name="event_stream"),
    path("<int:device_id>/events/<str:event_id>/download", views.event_download,
         name="event_download"),
    path("<int:device_id>/events/<str:event_id>/delete", views.event_delete, name="event_delete"),
    path("<int:device_id>/share/", views.share_create, name="share_create"),
    path("<int:device_id>/share/<int:pk>/revoke", views.share_revoke, name="share_revoke"),
]
