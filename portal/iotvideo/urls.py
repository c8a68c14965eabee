"""URLs of the cloud client's pages, under /settings/cloud/ (beside the connection form)."""
from django.urls import path

from portal.iotvideo import views

urlpatterns = [
    path("test/", views.cloud_test, name="cloud_test"),
    path("calls/", views.cloud_calls, name="cloud_calls"),
]
