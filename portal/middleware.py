"""Puts the current tenant and role on the request (from the session, checked against the
user's memberships) and activates the user's time zone and language."""
import zoneinfo

from django.utils import timezone, translation

from portal.selectors import membership_get

SESSION_TENANT_KEY = "tenant_id"


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        request.role = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = membership_get(user=user, tenant_id=request.session.get(SESSION_TENANT_KEY))
            if membership is not None:
                request.membership = membership
                request.tenant = membership.tenant
                request.role = membership.role
                if request.session.get(SESSION_TENANT_KEY) != membership.tenant_id:
                    request.session[SESSION_TENANT_KEY] = membership.tenant_id
        return self.get_response(request)


class UserTimezoneMiddleware:
    """Times are shown in the user's zone, else the tenant's, else UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = None
        language = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                profile = user.profile
            except Exception:  # no profile row yet
                profile = None
            if profile is not None:
                tz_name = profile.time_zone or None
                language = profile.language or None
        if tz_name is None and getattr(request, "tenant", None) is not None:
            tz_name = request.tenant.time_zone
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name)) if tz_name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        request.time_zone_name = tz_name or "UTC"
        return self.get_response(request)
