"""Settings pages: the tenant's cloud connection and members (admins), the user's profile."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import selectors, services
from portal.forms import CloudConnectionForm, InvitationForm, MembershipRoleForm, ProfileForm
from portal.models import Role
from portal.permissions import admin_required


@login_required
def settings_index(request):
    """Admins land on the company's settings; everyone else only has a profile."""
    if request.role == Role.ADMIN:
        return redirect("members")
    return redirect("profile")


# --- Cloud connection -----------------------------------------------------------------------


@admin_required
def cloud_settings(request):
    connection = selectors.cloud_connection_get(tenant=request.tenant)
    has_key = bool(connection and connection.secret_key_encrypted)
    status = 200
    if request.method == "POST":
        form = CloudConnectionForm(request.POST, has_stored_key=has_key)
        if form.is_valid():
            try:
                services.cloud_connection_save(tenant=request.tenant, actor=request.user,
                                               **form.cleaned_data)
            except services.ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Cloud connection saved."))
                return redirect("cloud_settings")
        status = 400
    else:
        initial = {}
        if connection is not None:
            initial = {"kind": connection.kind, "endpoint": connection.endpoint,
                       "region": connection.region, "secret_id": connection.secret_id}
        form = CloudConnectionForm(initial=initial, has_stored_key=has_key)
    return render(request, "portal/settings/cloud.html",
                  {"form": form, "connection": connection, "settings_tab": "cloud"},
                  status=status)


# --- Members and invitations ----------------------------------------------------------------


def _members_page(request, *, invite_form=None, status=200):
    return render(request, "portal/settings/members.html", {
        "members": selectors.member_list(tenant=request.tenant),
        "invitations": selectors.invitation_list_pending(tenant=request.tenant),
        "invite_form": invite_form or InvitationForm(),
        "roles": Role.choices,
        "settings_tab": "members",
    }, status=status)


@admin_required
def members(request):
    return _members_page(request)


@require_POST
@admin_required
def member_invite(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, invite_form=form, status=400)
    try:
        invitation = services.invitation_create(
            tenant=request.tenant, actor=request.user, **form.cleaned_data,
            accept_url_for=lambda token: request.build_absolute_uri(
                reverse("invitation_accept", args=[token])))
    except services.ServiceError as error:
        form.add_error("email", error.message)
        return _members_page(request, invite_form=form, status=400)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("members")


@require_POST
@admin_required
def member_role(request, membership_id):
    membership = selectors.member_get(tenant=request.tenant, membership_id=membership_id)
    form = MembershipRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return _members_page(request, status=400)
    try:
        services.membership_role_change(membership=membership, actor=request.user,
                                        role=form.cleaned_data["role"])
    except services.ServiceError as error:
        messages.error(request, error.message)
        return _members_page(request, status=400)
    messages.success(request, _("%(user)s is now %(role)s.") % {
        "user": membership.user.get_username(), "role": Role(form.cleaned_data["role"]).label})
    return redirect("members")


@require_POST
@admin_required
def member_remove(request, membership_id):
    membership = selectors.member_get(tenant=request.tenant, membership_id=membership_id)
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except services.ServiceError as error:
        messages.error(request, error.message)
        return _members_page(request, status=400)
    messages.success(request, _("%(user)s was removed from this company.") % {
        "user": membership.user.get_username()})
    if membership.user_id == request.user.id:
        return redirect("home")  # they removed themselves: no longer admin here
    return redirect("members")


@require_POST
@admin_required
def invitation_revoke(request, invitation_id):
    invitation = selectors.invitation_get(tenant=request.tenant, invitation_id=invitation_id)
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, _("Invitation for %(email)s withdrawn.") % {"email": invitation.email})
    return redirect("members")


# --- Profile --------------------------------------------------------------------------------


@login_required
def profile(request):
    tenant = request.tenant
    tenant_tz = tenant.time_zone if tenant else None
    current = services.profile_get(user=request.user)
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, tenant_time_zone=tenant_tz)
        if form.is_valid():
            services.profile_update(user=request.user, tenant=tenant, **form.cleaned_data)
            messages.success(request, _("Profile saved."))
            return redirect("profile")
        status = 400
    else:
        form = ProfileForm(initial={"time_zone": current.time_zone, "language": current.language},
                           tenant_time_zone=tenant_tz)
    return render(request, "portal/settings/profile.html",
                  {"form": form, "settings_tab": "profile"}, status=status)
