"""Settings URLs under /settings/: cloud connection, members and invitations, profile."""
from django.urls import path

from portal import views_settings as views

urlpatterns = [
    path("", views.settings_index, name="settings_index"),
    path("cloud/", views.cloud_settings, name="cloud_settings"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke,
         name="invitation_revoke"),
    path("profile/", views.profile, name="profile"),
]
