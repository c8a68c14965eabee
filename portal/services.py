"""Writes of tenancy data: cloud connections, memberships, invitations and profiles. Each one
records an audit entry in the same transaction, so the log never misses a committed change."""
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.audit import audit_record, snapshot
from portal.models import CloudConnection, Invitation, Membership, Role, Tenant, UserProfile

CLOUD_AUDIT_FIELDS = ["kind", "endpoint", "region", "secret_id"]
MEMBERSHIP_AUDIT_FIELDS = ["user", "role"]
INVITATION_AUDIT_FIELDS = ["email", "role"]
PROFILE_AUDIT_FIELDS = ["time_zone", "language"]


class ServiceError(Exception):
    """A refused change, with a message fit to show the person who asked for it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Cloud connection -----------------------------------------------------------------------


def cloud_connection_save(*, tenant: Tenant, actor, kind: str, endpoint: str, region: str,
                          secret_id: str, secret_key: str = "") -> CloudConnection:
    """Create or update the tenant's cloud connection. An empty `secret_key` keeps the stored
    one (the form never shows it, so an untouched field must not erase it)."""
    with transaction.atomic():
        connection = CloudConnection.objects.select_for_update().filter(tenant=tenant).first()
        created = connection is None
        if created:
            if not secret_key:
                raise ServiceError(_("Enter the SecretKey."))
            connection = CloudConnection(tenant=tenant)
            before = None
        else:
            before = snapshot(connection, CLOUD_AUDIT_FIELDS)
        connection.kind = kind
        connection.endpoint = endpoint
        connection.region = region
        connection.secret_id = secret_id
        if secret_key:
            connection.secret_key = secret_key
        connection.save()
        after = snapshot(connection, CLOUD_AUDIT_FIELDS)
        # Record that the key changed, never the key (nor its ciphertext).
        after["secret_key_changed"] = bool(secret_key)
        if before is not None and not secret_key and before == snapshot(connection, CLOUD_AUDIT_FIELDS):
            return connection  # nothing changed: no audit noise
        audit_record(tenant=tenant, actor=actor, action="create" if created else "update",
                     obj=connection, before=before, after=after)
    return connection


# --- Memberships ----------------------------------------------------------------------------


def _other_admins_exist(membership: Membership) -> bool:
    return (Membership.objects.filter(tenant=membership.tenant, role=Role.ADMIN)
            .exclude(pk=membership.pk).exists())


def membership_role_change(*, membership: Membership, actor, role: str) -> Membership:
    if role not in Role.values:
        raise ServiceError(_("Choose a valid role."))
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == role:
            return membership
        if membership.role == Role.ADMIN and not _other_admins_exist(membership):
            raise ServiceError(_("A company needs at least one admin: make someone else admin first."))
        before = snapshot(membership, MEMBERSHIP_AUDIT_FIELDS)
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(tenant=membership.tenant, actor=actor, action="update", obj=membership,
                     before=before, after=snapshot(membership, MEMBERSHIP_AUDIT_FIELDS))
    return membership


def membership_remove(*, membership: Membership, actor) -> None:
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == Role.ADMIN and not _other_admins_exist(membership):
            raise ServiceError(_("A company needs at least one admin: the last admin cannot be removed."))
        before = snapshot(membership, MEMBERSHIP_AUDIT_FIELDS)
        audit_record(tenant=membership.tenant, actor=actor, action="delete", obj=membership,
                     before=before)
        membership.delete()


# --- Invitations ----------------------------------------------------------------------------


def invitation_create(*, tenant: Tenant, actor, email: str, role: str,
                      accept_url_for) -> Invitation:
    """Invite `email` to `tenant` as `role` and email the link. `accept_url_for(token)` builds
    the absolute link (the view knows the host the admin is using)."""
    email = email.strip()
    if role not in Role.values:
        raise ServiceError(_("Choose a valid role."))
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise ServiceError(_("%(email)s is already a member of this company.") % {"email": email})
    with transaction.atomic():
        invitation = Invitation.objects.create(tenant=tenant, email=email, role=role,
                                               invited_by=actor)
        audit_record(tenant=tenant, actor=actor, action="create", obj=invitation,
                     object_repr=email, after=snapshot(invitation, INVITATION_AUDIT_FIELDS))
        link = accept_url_for(invitation.token)
        transaction.on_commit(lambda: _invitation_send(invitation, link))
    return invitation


def _invitation_send(invitation: Invitation, link: str) -> None:
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "link": link,
        "inviter": invitation.invited_by,
        "expires_at": invitation.expires_at,
        "role": invitation.get_role_display(),
    }
    subject = render_to_string("portal/email/invitation_subject.txt", context)
    body = render_to_string("portal/email/invitation_body.txt", context)
    EmailMessage(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL,
                 [invitation.email]).send()


def invitation_revoke(*, invitation: Invitation, actor) -> None:
    with transaction.atomic():
        audit_record(tenant=invitation.tenant, actor=actor, action="delete", obj=invitation,
                     object_repr=invitation.email,
                     before=snapshot(invitation, INVITATION_AUDIT_FIELDS))
        invitation.delete()


@dataclass(frozen=True)
class InvitationState:
    invitation: Invitation | None
    problem: str = ""  # why it cannot be used; empty when it can


def invitation_check(*, token: str) -> InvitationState:
    invitation = Invitation.objects.select_related("tenant").filter(token=token).first()
    if invitation is None:
        return InvitationState(None, _("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        return InvitationState(invitation, _("This invitation has already been used."))
    if not invitation.is_usable:
        return InvitationState(invitation, _("This invitation has expired. Ask an admin to invite you again."))
    return InvitationState(invitation)


def invitation_accept(*, invitation: Invitation, user=None, username: str = "",
                      password: str = "") -> Membership:
    """Use the invitation once: for `user` (an existing account) or for a new account made from
    `username`/`password`. Claimed with a conditional UPDATE so two tabs (or two people with the
    link) cannot both use it."""
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True,
            created_at__gt=timezone.now() - timezone.timedelta(seconds=settings.INVITATION_MAX_AGE),
        ).update(accepted_at=timezone.now())
        if claimed != 1:
            raise ServiceError(_("This invitation can no longer be used."))
        if user is None:
            user_model = get_user_model()
            if user_model.objects.filter(username__iexact=username).exists():
                raise ServiceError(_("That username is taken. Choose another one."))
            user = user_model.objects.create_user(username=username, email=invitation.email,
                                                  password=password)
        membership, created = Membership.objects.get_or_create(
            user=user, tenant=invitation.tenant, defaults={"role": invitation.role})
        if created:
            audit_record(tenant=invitation.tenant, actor=user, action="create", obj=membership,
                         after=snapshot(membership, MEMBERSHIP_AUDIT_FIELDS))
    return membership


# --- Profile --------------------------------------------------------------------------------


def profile_get(*, user) -> UserProfile:
    profile, _created = UserProfile.objects.get_or_create(user=user)
    return profile


def profile_update(*, user, tenant: Tenant | None, time_zone: str, language: str) -> UserProfile:
    with transaction.atomic():
        profile = profile_get(user=user)
        before = snapshot(profile, PROFILE_AUDIT_FIELDS)
        profile.time_zone = time_zone
        profile.language = language
        profile.save(update_fields=["time_zone", "language"])
        after = snapshot(profile, PROFILE_AUDIT_FIELDS)
        # A profile belongs to the person, not to a tenant; it is logged in the tenant they were
        # working in so that tenant's admins can see when someone changed their settings.
        if tenant is not None and before != after:
            audit_record(tenant=tenant, actor=user, action="update", obj=profile,
                         object_repr=user.get_username(), before=before, after=after)
    if language:
        translation.activate(language)
    return profile
