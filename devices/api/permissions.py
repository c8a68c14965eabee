"""Who may call which endpoint: a member of the request's tenant, writes only for admins."""
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from portal.models import Role


class TenantMember(permissions.BasePermission):
    message = _("You are not a member of a company.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated
                    and getattr(request._request, "tenant", None) is not None)


class AdminWrites(TenantMember):
    """Reads for every member; writes for admins only."""

    message = _("Only admins can change this.")

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request._request.role == Role.ADMIN


class AdminOnly(TenantMember):
    message = _("Only admins can use this.")

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request._request.role == Role.ADMIN
