"""API-key authentication: `Authorization: Api-Key pk_<lookup>_<secret>`.

A key acts for the member who created it, in the key's tenant and with the key's role (never
the creator's current role), so revoking the key or the membership ends its access."""
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from devices.api.keys import ApiKey
from portal.models import Membership

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{KEYWORD} "):
            return None
        parts = ApiKey.split(header[len(KEYWORD) + 1:])
        if parts is None:
            raise exceptions.AuthenticationFailed(_("Malformed API key."))
        lookup, secret = parts
        key = ApiKey.objects.select_related("tenant", "created_by").filter(lookup=lookup).first()
        if key is None or not key.matches(secret):
            raise exceptions.AuthenticationFailed(_("Unknown API key."))
        if not key.is_active:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        user = key.created_by
        if user is None or not user.is_active or not Membership.objects.filter(
                user=user, tenant=key.tenant).exists():
            raise exceptions.AuthenticationFailed(
                _("The member who created this API key has left the company; create a new key."))
        # The tenant middleware ran before authentication: scope the request to the key.
        django_request = request._request
        django_request.tenant, django_request.role, django_request.membership = key.tenant, key.role, None
        django_request.api_key = key
        if key.last_used_at is None or timezone.now() - key.last_used_at > timezone.timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return user, key

    def authenticate_header(self, request):
        return KEYWORD
