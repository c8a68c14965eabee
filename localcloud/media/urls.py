"""Signed media URLs, under /media/v1/ (see localcloud.signing)."""
from django.urls import path

from localcloud.media import views

urlpatterns = [
    path("media/v1/seg/<int:pk>.ts", views.segment, name="media-segment"),
    path("media/v1/thumb/<int:pk>.jpg", views.thumbnail, name="media-thumbnail"),
    path("media/v1/mjpeg/<int:pk>.mjpg", views.mjpeg, name="media-mjpeg"),
    path("media/v1/aac/<int:pk>.aac", views.aac, name="media-aac"),
    path("media/v1/<str:product_id>/<str:device_name>/<int:channel_id>/video.m3u8",
         views.playlist, name="media-playlist"),
    # A playlist's segments, beside it, under the playlist's window signature.
    path("media/v1/<str:product_id>/<str:device_name>/<int:channel_id>/<int:pk>.ts",
         views.window_segment, name="media-window-segment"),
]
