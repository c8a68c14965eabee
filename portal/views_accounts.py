"""Account pages beyond Django's own auth views: accepting an invitation to a tenant."""
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal import services
from portal.forms import InvitationSignupForm
from portal.middleware import SESSION_TENANT_KEY


def invitation_accept(request, token):
    state = services.invitation_check(token=token)
    if state.problem:
        # Unknown token: 404; known but used or expired: 410, so the person learns which.
        return render(request, "portal/invitation_invalid.html", {"problem": state.problem},
                      status=404 if state.invitation is None else 410)
    invitation = state.invitation
    context = {"invitation": invitation}
    user = request.user if request.user.is_authenticated else None
    has_account = get_user_model().objects.filter(email__iexact=invitation.email).exists()

    if user is not None and user.email.lower() != invitation.email.lower():
        context["mismatch"] = True
        return render(request, "portal/invitation_accept.html", context, status=403)
    if user is None and has_account:
        context["needs_login"] = True
        return render(request, "portal/invitation_accept.html", context)

    form = None
    status = 200
    if user is None:
        form = InvitationSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST":
        if form is None or form.is_valid():
            try:
                membership = services.invitation_accept(
                    invitation=invitation, user=user,
                    username=form.cleaned_data["username"] if form else "",
                    password=form.cleaned_data["password1"] if form else "")
            except services.ServiceError as error:
                messages.error(request, error.message)
                status = 400
            else:
                if user is None:
                    login(request, membership.user,
                          backend="django.contrib.auth.backends.ModelBackend")
                request.session[SESSION_TENANT_KEY] = membership.tenant_id
                messages.success(request, _("Welcome to %(tenant)s.") % {
                    "tenant": membership.tenant.name})
                return redirect("home")
        else:
            status = 400
    context["form"] = form
    return render(request, "portal/invitation_accept.html", context, status=status)
