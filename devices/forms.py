"""Forms of the fleet pages: the fleet filter (all state in the URL), products, batches,
bulk actions, device metadata, grants, invitations, CSV import and API keys."""
from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from devices.models import Product, StreamKind
from devices.selectors import SORTS, member_list
from portal.models import Role

ONLINE_CHOICES = [("", _("Any")), ("online", _("Online")), ("offline", _("Offline"))]
PACKAGE_CHOICES = [
    ("", _("Any")),
    ("none", _("No package")),
    ("active", _("In force")),
    ("expiring", _("Expiring soon")),
    ("expired", _("Expired")),
]
KIND_CHOICES = [("", _("Any")), *StreamKind.choices]
SORT_CHOICES = [
    ("name", _("Name")), ("-name", _("Name, Z–A")),
    ("nickname", _("Nickname")), ("-nickname", _("Nickname, Z–A")),
    ("last_seen", _("Last seen, oldest first")), ("-last_seen", _("Last seen, newest first")),
    ("expiry", _("Package expiry, soonest first")), ("-expiry", _("Package expiry, latest first")),
    ("created", _("Added, oldest first")), ("-created", _("Added, newest first")),
]
assert {s.lstrip("-") for s, _l in SORT_CHOICES} == set(SORTS)
PAGE_SIZES = [25, 50, 100, 200]
FILTER_FIELDS = ["q", "product", "online", "package", "days", "kind", "tag", "owner", "removed"]


def _html_attrs(attrs: dict):
    """Attributes as django/forms/widgets/attrs.html writes them (True: bare, False: left out)."""
    if not attrs:  # most options
        return ""
    return format_html_join("", "{}", ((format_html(" {}", name) if value is True
                                        else format_html(' {}="{}"', name, value),)
                                       for name, value in attrs.items() if value is not False))


class FilterSelect(forms.Select):
    """A <select> written in Python, with the markup of Django's select.html.

    Django renders each <option> through a template include of its own; with an option per
    product and per member, the fleet filter's selects were most of the form's rendering time,
    paid on every full fleet page (issue 6). Option groups (unused here) go the usual way."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        if any(group_name for group_name, _options, _index in widget["optgroups"]):
            return super().render(name, value, attrs, renderer)
        options = format_html_join("", '\n  <option value="{}"{}>{}</option>', (
            (option["value"], _html_attrs(option["attrs"]), option["label"])
            for _group, group_options, _index in widget["optgroups"] for option in group_options))
        return format_html('<select name="{}"{}>{}\n</select>', widget["name"],
                           _html_attrs(widget["attrs"]), options)


class _PythonInput:
    """An <input> written in Python, with the markup of Django's input.html (see FilterSelect)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        return format_html('<input type="{}" name="{}"{}{}>', widget["type"], widget["name"],
                           format_html(' value="{}"', widget["value"])
                           if widget["value"] is not None else "",
                           _html_attrs(widget["attrs"]))


class FilterInput(_PythonInput, forms.TextInput):
    pass


class FilterNumberInput(_PythonInput, forms.NumberInput):
    pass


class FleetFilterForm(forms.Form):
    """The fleet page's and the API's query string. Unknown values are errors (400), not
    silently ignored: a shared link that no longer means what it said must say so."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=FilterInput(attrs={"type": "search", "placeholder": _("Name, nickname or tag")}))
    product = forms.ChoiceField(label=_("Product"), required=False, widget=FilterSelect)
    online = forms.ChoiceField(label=_("Online"), choices=ONLINE_CHOICES, required=False,
                               widget=FilterSelect)
    package = forms.ChoiceField(label=_("Package"), choices=PACKAGE_CHOICES, required=False,
                                widget=FilterSelect)
    days = forms.IntegerField(label=_("Expiring within (days)"), required=False, min_value=1,
                              max_value=3650, widget=FilterNumberInput)
    kind = forms.ChoiceField(label=_("Stream kind"), choices=KIND_CHOICES, required=False,
                             widget=FilterSelect)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=40, widget=FilterInput)
    owner = forms.ChoiceField(label=_("Owner"), required=False, widget=FilterSelect)
    removed = forms.ChoiceField(
        label=_("Removed upstream"), required=False, widget=FilterSelect,
        choices=[("", _("Hide")), ("include", _("Include")), ("only", _("Only removed"))])
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False,
                             widget=FilterSelect)
    size = forms.TypedChoiceField(label=_("Per page"), coerce=int, required=False,
                                  choices=[(s, s) for s in PAGE_SIZES], empty_value=50,
                                  widget=FilterSelect)
    cursor = forms.CharField(required=False, max_length=400, widget=forms.HiddenInput)

    def __init__(self, data, *, tenant, products=None, members=None, show_owner=True):
        super().__init__(data)
        products = products if products is not None else Product.objects.filter(tenant=tenant)
        # Callables, read only when the form is rendered or the query names a product or an
        # owner: an htmx request or an API call without those filters queries neither
        # (a queryset given here is fetched once however often its choices are read).
        self.fields["product"].choices = lambda: [
            ("", _("Any")), *((str(p.pk), p.name) for p in products)]
        if show_owner:
            # Like products: the tenant's own members unless the caller read them already
            # (the purchase flow's "all matching the filter" passes neither).
            members = members if members is not None else member_list(tenant=tenant)
            self.fields["owner"].choices = lambda: [
                ("", _("Anyone")), ("none", _("No owner")),
                *((str(m.user_id), m.user.email or m.user.get_username()) for m in members)]
        else:
            del self.fields["owner"]

    def clean(self):
        data = super().clean()
        if data.get("package") == "expiring" and not data.get("days"):
            data["days"] = 30
        return data

    def filters(self) -> dict:
        """The cleaned values as devices.selectors.device_list expects them."""
        data = self.cleaned_data
        removed = {"": False, "include": None, "only": True}[data.get("removed") or ""]
        return {
            "q": data.get("q", "").strip(),
            "product": int(data["product"]) if data.get("product") else None,
            "online": data.get("online"),
            "package": data.get("package"),
            "days": data.get("days"),
            "kind": data.get("kind"),
            "tag": (data.get("tag") or "").strip(),
            "owner": (data.get("owner") if data.get("owner") in ("", "none", None)
                      else int(data["owner"])),
            "removed": removed,
        }

    @property
    def sort_key(self) -> str:
        return self.cleaned_data.get("sort") or "name"

    @property
    def page_size(self) -> int:
        return self.cleaned_data.get("size") or 50

    def error_text(self) -> str:
        parts = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return "; ".join(parts)


class ProductForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    stream_kind = forms.ChoiceField(
        label=_("Stream kind"), choices=StreamKind.choices, initial=StreamKind.VIDEO,
        help_text=_("Picture-stream cameras (visual intercom locks) record short MJPEG + AAC "
                    "events and can only hold event packages."))
    low_power = forms.BooleanField(label=_("Low-power (battery) cameras"), required=False)
    device_type = forms.TypedChoiceField(label=_("Device type"), coerce=int, initial=1,
                                         choices=[(1, _("Camera")), (2, _("NVR"))])
    description = forms.CharField(label=_("Description"), required=False, max_length=256)


class BatchForm(forms.Form):
    prefix = forms.RegexField(label=_("Name prefix"), regex=r"^[A-Za-z0-9_-]{1,24}$", max_length=24,
                              error_messages={"invalid": _("Use 1 to 24 letters, digits, '_' or '-'.")})
    count = forms.IntegerField(label=_("How many devices"), min_value=1, max_value=1000, initial=10)


class DeviceMetaForm(forms.Form):
    nickname = forms.CharField(label=_("Nickname"), required=False, max_length=100)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Separated by commas."))
    location = forms.CharField(label=_("Location"), required=False, max_length=200)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def tag_list(self) -> list[str]:
        return [t for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class BulkForm(forms.Form):
    ACTIONS = [("tag", _("Add or remove tags")), ("owner", _("Assign owner")),
               ("export", _("Export CSV")), ("purchase", _("Buy or renew a package"))]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    scope = forms.ChoiceField(choices=[("selected", _("Selected devices")),
                                       ("filter", _("All devices that match the filter"))],
                              initial="selected", widget=forms.RadioSelect)
    device = forms.TypedMultipleChoiceField(coerce=int, required=False)
    add_tags = forms.CharField(label=_("Add tags"), required=False, max_length=500)
    remove_tags = forms.CharField(label=_("Remove tags"), required=False, max_length=500)
    owner_email = forms.CharField(label=_("Owner's email (empty: no owner)"), required=False,
                                  max_length=254)
    filter = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def clean_device(self):
        return self.cleaned_data.get("device") or []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer may be posted; the view keeps only devices of the tenant.
        self.fields["device"].valid_value = lambda value: True

    def clean(self):
        data = super().clean()
        if data.get("scope") == "selected" and not data.get("device"):
            raise forms.ValidationError(_("Select at least one device, or choose all that match "
                                          "the filter."))
        return data


class GrantForm(forms.Form):
    email = forms.EmailField(label=_("End user's email"))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), required=False)
    text = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > 2 * 1024 * 1024:
                raise forms.ValidationError(_("The file is larger than 2 MB; split it."))
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text. Save it as CSV UTF-8."))
        if not data.get("text"):
            raise forms.ValidationError(_("Choose a CSV file."))
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)
