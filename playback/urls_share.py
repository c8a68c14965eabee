"""Share links under /s/: open to anyone holding an unexpired, unrevoked token."""
from django.urls import path

from playback import views

app_name = "playback_share"

urlpatterns = [
    path("<str:token>/", views.share_page, name="page"),
    path("<str:token>/source", views.share_source, name="source"),
    path("<str:token>/download", views.share_download, name="download"),
]
