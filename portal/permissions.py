"""Role checks for views: a user outside the tenant or below the role gets 404 or 403."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from portal.models import Role


def role_required(*roles: str):
    """The view runs only for a member of the current tenant holding one of `roles`."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.tenant is None:
                return redirect("no_tenant")
            if roles and request.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(Role.ADMIN)
staff_required = role_required(Role.ADMIN, Role.STAFF)
member_required = role_required()
