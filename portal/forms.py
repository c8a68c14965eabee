"""Forms of the portal's own pages: cloud connection, members, invitations, profile, audit
filters. They validate input only; the writes live in portal/services.py."""
import datetime as dt
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit import action_label, object_type_label
from portal.models import TIME_ZONE_CHOICES, CloudConnection, Role


class CloudConnectionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Cloud"), choices=CloudConnection.Kind.choices)
    endpoint = forms.CharField(
        label=_("localcloud URL"), required=False, max_length=200,
        help_text=_("Only for localcloud, e.g. http://127.0.0.1:8010"))
    region = forms.CharField(label=_("Region"), max_length=32, initial="ap-guangzhou",
                             help_text=_("Tencent Cloud region, e.g. ap-guangzhou"))
    secret_id = forms.CharField(label=_("SecretId"), max_length=128)
    # Write-only: never rendered back (render_value=False), empty keeps the stored key.
    secret_key = forms.CharField(
        label=_("SecretKey"), required=False, max_length=256, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, has_stored_key: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_stored_key = has_stored_key
        if has_stored_key:
            self.fields["secret_key"].help_text = _(
                "A key is stored. Leave empty to keep it; type a new one to replace it.")
        else:
            self.fields["secret_key"].help_text = _("Required: no key is stored yet.")

    def clean_endpoint(self):
        endpoint = self.cleaned_data["endpoint"].strip().rstrip("/")
        if endpoint:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise forms.ValidationError(
                    _("Enter a URL starting with http:// or https://, e.g. http://127.0.0.1:8010"))
        return endpoint

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == CloudConnection.Kind.LOCAL and not cleaned.get("endpoint") \
                and "endpoint" not in self.errors:
            self.add_error("endpoint", _("localcloud needs its URL."))
        if not cleaned.get("secret_key") and not self.has_stored_key:
            self.add_error("secret_key", _("Enter the SecretKey."))
        return cleaned


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class InvitationSignupForm(forms.Form):
    """A new account for a person accepting an invitation (their email comes from it)."""

    username = forms.CharField(label=_("Username"), max_length=150)
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user_model = get_user_model()
        user_model.username_validator(username)
        if user_model.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("That username is taken. Choose another one."))
        return username

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            candidate = get_user_model()(username=cleaned.get("username", ""), email=self.email)
            try:
                password_validation.validate_password(p1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, tenant_time_zone: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        default_tz = (_("Company default (%(tz)s)") % {"tz": tenant_time_zone}
                      if tenant_time_zone else _("Company default"))
        self.fields["time_zone"].choices = [("", default_tz), *TIME_ZONE_CHOICES]
        self.fields["language"].choices = [("", _("Browser's language")), *settings.LANGUAGES]


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    since = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=_("Inclusive"))

    def __init__(self, *args, object_types: list[str], actions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [
            ("", _("All")), *((t, object_type_label(t)) for t in object_types)]
        self.fields["action"].choices = [("", _("All")), *((a, action_label(a)) for a in actions)]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def selector_filters(self) -> dict:
        """The filters for `audit_entry_list`: dates become instants at midnight in the user's
        current time zone, the end date inclusive."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def midnight(day: dt.date):
            return dt.datetime.combine(day, dt.time.min, tzinfo=zone)

        return {
            "object_type": data.get("object_type"),
            "action": data.get("action"),
            "actor": (data.get("actor") or "").strip(),
            "since": midnight(data["since"]) if data.get("since") else None,
            "until": midnight(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        }
