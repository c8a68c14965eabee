"""URLs served by runlocalcloud: the cloud API at /, the device ingest API and signed media."""
from django.urls import include, path

urlpatterns = [
    path("", include("localcloud.api.urls")),
    path("", include("localcloud.device.urls")),
    path("", include("localcloud.media.urls")),
]
