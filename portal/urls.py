"""URL configuration of the whole site."""
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views, views_audit

urlpatterns = [
    path("", views.home, name="home"),
    path("no-company/", views.no_tenant, name="no_tenant"),
    path("tenant/switch/", views.tenant_switch, name="tenant_switch"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("portal.urls_accounts")),
    path("settings/", include("portal.urls_settings")),
    path("settings/cloud/", include("portal.iotvideo.urls")),
    path("audit/", views_audit.audit_log, name="audit_log"),
    path("cameras/", include("playback.urls")),
    path("s/", include("playback.urls_share")),
    path("devices/", include("devices.urls")),
    path("api/v1/", include("devices.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
