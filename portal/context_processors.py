"""Template context: the current tenant, role and the user's other tenants (switcher)."""
from portal.models import Role
from portal.selectors import membership_list


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = getattr(request, "role", None)
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_role": role,
        "membership": getattr(request, "membership", None),
        "memberships": membership_list(user=user),
        "is_admin": role == Role.ADMIN,
        "is_staff_role": role in (Role.ADMIN, Role.STAFF),
        "is_viewer": role == Role.VIEWER,
    }
