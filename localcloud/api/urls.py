"""The cloud API lives at the root path, where the SDK posts."""
from django.urls import path

from localcloud.api.views import api

urlpatterns = [path("", api, name="localcloud-api")]
