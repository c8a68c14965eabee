"""Pages of the portal itself: home, tenant switching."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.middleware import SESSION_TENANT_KEY
from portal.permissions import member_required
from portal.selectors import membership_list


@member_required
def home(request):
    return render(request, "portal/home.html")


@login_required
def no_tenant(request):
    return render(request, "portal/no_tenant.html", status=403)


@require_POST
@login_required
def tenant_switch(request):
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        tenant_id = None
    membership = membership_list(user=request.user).filter(tenant_id=tenant_id).first()
    if membership is None:
        messages.error(request, _("You are not a member of that company."))
    else:
        request.session[SESSION_TENANT_KEY] = membership.tenant_id
        messages.success(request, _("Switched to %(tenant)s.") % {"tenant": membership.tenant.name})
    return redirect("home")


def permission_denied(request, exception=None):
    """403 in the site's layout: the user is signed in but their role does not reach the page."""
    return render(request, "portal/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "portal/404.html", status=404)
