"""Forms of the packages pages; they check input and say what is wrong in words for staff."""
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from devices.order_models import OrderState, StartMode
from devices.packages import catalog


def _package_choices():
    return [(p.package_id, f"{p.name} ({p.package_id})") for p in catalog.paid_packages()]


class PurchaseForm(forms.Form):
    package = forms.ChoiceField(label=_("Package"), choices=_package_choices)
    start_mode = forms.ChoiceField(label=_("Starts"), choices=StartMode.choices,
                                   initial=StartMode.END, widget=forms.RadioSelect)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class PriceField(forms.CharField):
    """A price typed in the currency's units ("12.50"), kept in cents; empty = no price."""

    def to_python(self, value):
        value = (super().to_python(value) or "").strip().replace(",", ".")
        if not value:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise forms.ValidationError(_("Enter a price such as 12.50."))
        if amount < 0 or amount > Decimal("1000000"):
            raise forms.ValidationError(_("Enter a price between 0 and 1,000,000."))
        if amount != amount.quantize(Decimal("0.01")):
            raise forms.ValidationError(_("Use at most two decimals."))
        return int(amount * 100)


class PriceListForm(forms.Form):
    currency = forms.RegexField(label=_("Currency"), regex=r"^[A-Za-z]{3}$", max_length=3,
                                error_messages={"invalid": _("Use a three-letter code such as CNY.")})

    def __init__(self, *args, prices=None, **kwargs):
        super().__init__(*args, **kwargs)
        prices = prices or {}
        for package in catalog.paid_packages():
            current = prices.get(package.package_id)
            self.fields[f"price_{package.package_id}"] = PriceField(
                label=package.name, required=False,
                initial=f"{current.price_cents / 100:.2f}" if current else "")

    def package_rows(self):
        for package in catalog.paid_packages():
            yield package, self[f"price_{package.package_id}"]

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class OrderFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("Any state")), *OrderState.choices])
    package = forms.ChoiceField(label=_("Package"), required=False,
                                choices=lambda: [("", _("Any package"))] + [
                                    (pid, pid) for pid in (*catalog.PAID_PACKAGE_IDS, *catalog.FREE_TRIAL_IDS)])
    device = forms.CharField(label=_("Device"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    purchase = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class RenewalsForm(forms.Form):
    days = forms.IntegerField(label=_("Ending within (days)"), min_value=1, max_value=365,
                              initial=30, required=False)


class TransferForm(forms.Form):
    target = forms.ModelChoiceField(label=_("Transfer to"), queryset=None,
                                    empty_label=_("Choose a device without a package"))

    def __init__(self, *args, targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets


class ResetForm(forms.Form):
    confirmation = forms.CharField(label=_("Type the device name to confirm"), max_length=64)


class SpendForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days > 366:
                raise forms.ValidationError(_("The cloud reports at most one year at a time."))
        return data
